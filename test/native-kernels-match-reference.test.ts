import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type DType, type Tensor, tensor } from '../dist/src/index.js';
import { useTensorRuntime } from './helpers.js';

// Every native openreg kernel against an independent reference written here, and against the
// cpu backend (the piscina pool), on random shapes, broadcasts, strides and dtypes.
useTensorRuntime({ deviceCount: 2 });

const RUNS = { numRuns: 30 };

/** The spacing of float32 values at |v|. */
function ulp32(v: number): number {
  const a = Math.fround(Math.abs(v));
  const bits = new Float32Array([a]);
  const next = new Uint32Array(bits.buffer);
  next[0]! += 1;
  return bits[0]! - a;
}

type Nd = { shape: number[]; values: number[] };

const shapeArb = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 0, maxLength: 3 });
const valueArb = fc.integer({ min: -40, max: 40 }).map((v) => v / 4);

function ndArb(shape: number[]): fc.Arbitrary<Nd> {
  const n = shape.reduce((p, d) => p * d, 1);
  return fc.array(valueArb, { minLength: n, maxLength: n }).map((values) => ({ shape, values }));
}

function nest(shape: readonly number[], flat: readonly number[]): unknown {
  if (shape.length === 0) return flat[0];
  const step = flat.length / shape[0]!;
  return Array.from({ length: shape[0]! }, (_, i) => nest(shape.slice(1), flat.slice(i * step, (i + 1) * step)));
}

/** Two shapes that broadcast: the second drops leading dims and sets some to 1. */
const broadcastPairArb = shapeArb.chain((a) =>
  fc.tuple(fc.constant(a), fc.integer({ min: 0, max: a.length }), fc.array(fc.boolean(), { minLength: a.length, maxLength: a.length })).map(([s, drop, ones]) => [s, s.slice(drop).map((d, i) => (ones[i + drop] ? 1 : d))] as const),
);

function broadcastIndex(shape: readonly number[], out: readonly number[], index: number): number {
  const coords: number[] = [];
  for (let i = out.length - 1, rest = index; i >= 0; i--) {
    coords.unshift(rest % out[i]!);
    rest = Math.floor(rest / out[i]!);
  }
  let flat = 0;
  for (let i = 0; i < shape.length; i++) flat = flat * shape[i]! + (shape[i] === 1 ? 0 : coords[coords.length - shape.length + i]!);
  return flat;
}

const ROUND: Record<string, (v: number) => number> = { float32: Math.fround, float64: (v) => v, int32: (v) => v | 0, bool: (v) => (v ? 1 : 0) };

async function values(t: Tensor): Promise<number[]> {
  return Array.from(await t.data(), Number);
}

/** The device result and the cpu result of the same call. */
async function both(make: (device: string) => Tensor): Promise<[number[], number[]]> {
  return [await values(make('openreg:1')), await values(make('cpu'))];
}

describe('elementwise kernels', () => {
  const ops = {
    add: (x: number, y: number) => x + y,
    mul: (x: number, y: number) => x * y,
    div: (x: number, y: number) => x / y,
    lt: (x: number, y: number) => Number(x < y),
    eq: (x: number, y: number) => Number(x === y),
  } as const;

  it('binary ops broadcast and promote as PyTorch does', async () => {
    await fc.assert(
      fc.asyncProperty(
        broadcastPairArb.chain(([a, b]) => fc.tuple(ndArb(a), ndArb(b))),
        fc.constantFrom<keyof typeof ops>('add', 'mul', 'div', 'lt', 'eq'),
        fc.constantFrom<DType>('float32', 'float64', 'int32'),
        fc.constantFrom<DType>('float32', 'int32'),
        async ([a, b], name, da, db) => {
          const outShape = a.shape;
          const promoted: DType = da === 'float64' || db === 'float64' ? 'float64' : da === 'float32' || db === 'float32' ? 'float32' : 'int32';
          const outType: DType = name === 'lt' || name === 'eq' ? 'bool' : name === 'div' && promoted === 'int32' ? 'float32' : promoted;
          const cast = ROUND[da]!;
          const castB = ROUND[db]!;
          const n = a.values.length;
          const expected = Array.from({ length: n }, (_, i) => {
            const x = cast(a.values[i]!);
            const y = castB(b.values[broadcastIndex(b.shape, outShape, i)]!);
            if (name === 'mul' && outType === 'int32') return Math.imul(x, y);
            return ROUND[outType]!(ops[name](x, y));
          });
          const [device, cpu] = await both((d) => {
            const x = tensor(nest(a.shape, a.values) as number[], { dtype: da, device: d });
            const y = tensor(nest(b.shape, b.values) as number[], { dtype: db, device: d });
            const out = x[name](y);
            expect(out.dtype).toBe(outType);
            return out;
          });
          expect(device).toEqual(expected);
          expect(cpu).toEqual(expected);
        },
      ),
      RUNS,
    );
  });

  it('comparisons with a scalar or a same-shape tensor give bool masks; NaN compares false but for ne', async () => {
    const xs = [-2, -0, 0, 0.5, Number.NaN, 3, Number.POSITIVE_INFINITY, 1e-30];
    const ys = [-2, 0, -0, 1, Number.NaN, Number.NaN, Number.POSITIVE_INFINITY, 0];
    const f = Math.fround;
    const cases = { gt: (x: number, y: number) => x > y, lt: (x: number, y: number) => x < y, ge: (x: number, y: number) => x >= y, le: (x: number, y: number) => x <= y, eq: (x: number, y: number) => x === y, ne: (x: number, y: number) => x !== y };
    for (const [name, fn] of Object.entries(cases)) {
      for (const dtype of ['float32', 'float64'] as const) {
        const round = dtype === 'float32' ? f : (v: number) => v;
        const [byScalar, byScalarCpu] = await both((d) => tensor(xs, { dtype, device: d })[name as 'gt'](0));
        expect([byScalar, byScalarCpu]).toEqual([xs.map((x) => Number(fn(round(x), 0))), xs.map((x) => Number(fn(round(x), 0)))]);
        const [byTensor, byTensorCpu] = await both((d) => tensor(xs, { dtype, device: d })[name as 'gt'](tensor(ys, { dtype, device: d })));
        const expected = xs.map((x, i) => Number(fn(round(x), round(ys[i]!))));
        expect([byTensor, byTensorCpu]).toEqual([expected, expected]);
      }
    }
  });

  it('materializing an expand (a scalar, a row, a column, a middle dimension) copies each element exactly, in every dtype', async () => {
    const cases: [number[], number[], number[]][] = [
      // source shape, expanded shape, source values
      [[], [3, 70], [2.5]],
      [[70], [5, 70], Array.from({ length: 70 }, (_, i) => i - 35.25)],
      [[5, 1], [5, 70], [1, -2, 3.5, Number.NaN, -0]],
      [[2, 1, 3], [2, 4, 3], [1, 2, 3, 4, 5, 6]],
      [[1, 1], [9, 33], [7]],
    ];
    for (const dtype of ['float32', 'float64', 'float16', 'bfloat16', 'int32', 'int64', 'uint8', 'bool'] as const) {
      const floating = dtype.startsWith('float') || dtype === 'bfloat16';
      for (const [shape, to, given] of cases) {
        // Integer and bool dtypes take small non-negative integers (NaN and -0 are float values).
        const values = floating ? given : given.map((v) => (Number.isNaN(v) ? 3 : Math.trunc(Math.abs(v)) % (dtype === 'bool' ? 2 : 100)));
        const src = tensor(values.length === 1 && shape.length === 0 ? values[0]! : (nest(shape, values) as number[]), { dtype });
        const want = await src.expand(...to).contiguous().toArray();
        const [device, cpu] = [await tensor(await src.toArray() as number[], { dtype, device: 'openreg' }).expand(...to).contiguous().toArray(), await src.expand(...to).contiguous().toArray()];
        expect(device, `${dtype} [${shape}] → [${to}] on openreg`).toEqual(want);
        expect(cpu, `${dtype} [${shape}] → [${to}] on cpu`).toEqual(want);
        // The reference: each element read through the broadcast from the source's own values.
        const flat = (await src.toArray()) as unknown;
        const source = ([] as unknown[]).concat(flat).flat(3) as number[];
        const expected = Array.from({ length: to.reduce((p, d) => p * d, 1) }, (_, i) => source[broadcastIndex(shape, to, i)]);
        expect(([] as unknown[]).concat(device).flat(3), `${dtype} [${shape}] → [${to}] values`).toEqual(expected);
      }
    }
  });

  it('unary ops read transposed (strided) inputs', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 })).chain(([r, c]) => ndArb([r, c])),
        fc.constantFrom('neg', 'exp', 'relu', 'abs') as fc.Arbitrary<'neg' | 'exp' | 'relu' | 'abs'>,
        async (a, name) => {
          const [r, c] = a.shape as [number, number];
          const f = { neg: (v: number) => -v, exp: Math.exp, relu: (v: number) => Math.max(v, 0), abs: Math.abs }[name];
          const expected = Array.from({ length: r * c }, (_, i) => Math.fround(f(Math.fround(a.values[(i % r) * c + Math.floor(i / r)]!))));
          const [device, cpu] = await both((d) => tensor(nest(a.shape, a.values) as number[], { dtype: 'float32', device: d }).t()[name]());
          // Both backends run the same kernels; exp is a float32 polynomial within 2 ulp (as PyTorch's vectorized one is), the rest exact.
          expect(cpu).toEqual(device);
          if (name === 'exp') expect((device as number[]).every((v, i) => Math.abs(v - expected[i]!) <= 2 * ulp32(expected[i]!))).toBe(true);
          else expect(device).toEqual(expected);
        },
      ),
      RUNS,
    );
  });

  it('int64 elements keep every bit through strided kernels, negative and up to ±2^53, and round as Number(bigint) beyond', async () => {
    const big = [2n ** 53n - 1n, -(2n ** 53n) + 1n, -1n, 2n ** 32n, -(2n ** 32n) - 7n, 2n ** 62n + 1n, -(2n ** 63n)];
    const bigints = async (x: Tensor): Promise<bigint[]> => Array.from(await x.data<BigInt64Array>());
    for (const device of ['openreg:0', 'cpu']) {
      const t = tensor(BigInt64Array.from(big), { device });
      // A transposed view of a 2-row expand: the strided kernels read and write every element.
      const copied = t.expand(2, big.length).t().contiguous();
      expect(await bigints(copied)).toEqual(big.flatMap((v) => [v, v]));
      // Arithmetic goes through doubles (documented): exact within ±2^53, else the nearest double.
      const sums = await bigints(t.add(tensor([0], { dtype: 'int64', device })));
      expect(sums.slice(0, 5)).toEqual(big.slice(0, 5));
      expect(sums.slice(5)).toEqual(big.slice(5).map((v) => BigInt(Number(v))));
      // A gather by int64 index reads each index exactly.
      const at = tensor([6, 0, 3], { dtype: 'int64', device });
      expect(await bigints(t.gather(0, at))).toEqual([big[6], big[0], big[3]]);
    }
  });
});

describe('reductions, products and softmax', () => {
  const near = (a: number[], b: number[]) => expect(a.every((v, i) => Math.abs(v - b[i]!) <= 1e-5 * Math.max(1, Math.abs(b[i]!)))).toBe(true);

  it('sum, mean and max over any set of dimensions', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 }).chain((s) => fc.tuple(ndArb(s), fc.subarray(s.map((_, i) => i), { minLength: 1 }), fc.boolean())),
        async ([a, dims, keepdim]) => {
          const kept = a.shape.map((_, i) => i).filter((i) => !dims.includes(i));
          const groups = new Map<string, number[]>();
          a.values.forEach((v, flat) => {
            const coords: number[] = [];
            for (let i = a.shape.length - 1, rest = flat; i >= 0; i--) {
              coords.unshift(rest % a.shape[i]!);
              rest = Math.floor(rest / a.shape[i]!);
            }
            const key = kept.map((k) => coords[k]).join();
            groups.set(key, [...(groups.get(key) ?? []), v]);
          });
          const sums = [...groups.values()].map((g) => g.reduce((p, v) => p + v, 0));
          const [sum, sumCpu] = await both((d) => tensor(nest(a.shape, a.values) as number[], { dtype: 'float32', device: d }).sum(dims, keepdim));
          near(sum, sums);
          near(sumCpu, sums);
          const [mean] = await both((d) => tensor(nest(a.shape, a.values) as number[], { dtype: 'float32', device: d }).mean(dims, keepdim));
          near(mean, [...groups.values()].map((g) => g.reduce((p, v) => p + v, 0) / g.length));
          const [max] = await both((d) => tensor(nest(a.shape, a.values) as number[], { dtype: 'float32', device: d }).amax(dims, keepdim));
          expect(max).toEqual([...groups.values()].map((g) => Math.max(...g)));
        },
      ),
      RUNS,
    );
  });

  it('matmul of vectors, matrices and broadcast batches', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.boolean()),
        async ([batch, n, k, m, batchedB]) => {
          const A = Array.from({ length: batch * n * k }, (_, i) => ((i * 7) % 11) - 5);
          const B = Array.from({ length: (batchedB ? batch : 1) * k * m }, (_, i) => ((i * 5) % 7) - 3);
          const expected: number[] = [];
          for (let s = 0; s < batch; s++)
            for (let i = 0; i < n; i++)
              for (let j = 0; j < m; j++) {
                let acc = 0;
                for (let p = 0; p < k; p++) acc += A[s * n * k + i * k + p]! * B[(batchedB ? s : 0) * k * m + p * m + j]!;
                expected.push(acc);
              }
          const [device, cpu] = await both((d) => {
            const a = tensor(nest([batch, n, k], A) as number[], { dtype: 'float32', device: d });
            const b = tensor(nest(batchedB ? [batch, k, m] : [k, m], B) as number[], { dtype: 'float32', device: d });
            return a.matmul(b);
          });
          expect(device).toEqual(expected);
          expect(cpu).toEqual(expected);
        },
      ),
      RUNS,
    );
  });

  it('dot and mm agree with the reference; softmax rows sum to one and match exp/Σexp', async () => {
    const x = tensor([1, 2, 3], { dtype: 'float32', device: 'openreg' });
    expect(await x.dot(x).item()).toBe(14);
    await fc.assert(
      fc.asyncProperty(fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 5 })).chain(([r, c]) => ndArb([r, c])), fc.integer({ min: 0, max: 1 }), async (a, dim) => {
        const [r, c] = a.shape as [number, number];
        const at = (i: number, j: number) => Math.fround(a.values[i * c + j]!);
        const expected: number[] = [];
        for (let i = 0; i < r; i++)
          for (let j = 0; j < c; j++) {
            const line = dim === 1 ? Array.from({ length: c }, (_, q) => at(i, q)) : Array.from({ length: r }, (_, q) => at(q, j));
            const max = Math.max(...line);
            expected.push(Math.exp(at(i, j) - max) / line.reduce((p, v) => p + Math.exp(v - max), 0));
          }
        const [device, cpu] = await both((d) => tensor(nest(a.shape, a.values) as number[], { dtype: 'float32', device: d }).softmax(dim));
        near(device, expected);
        expect(cpu).toEqual(device);
      }),
      RUNS,
    );
  });
});

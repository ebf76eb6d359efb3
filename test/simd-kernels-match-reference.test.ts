import { describe, expect, it } from 'vitest';
import { type Tensor, manualSeed, randn, tensor } from '../dist/src/index.js';
import { useTensorRuntime } from './helpers.js';

// The wasm SIMD kernels' dense float32 paths at sizes that cross their blocks and leave tails
// (matmul's 4×8 tiles, 128-deep and 256-wide panels, softmax's 4-lane rows), against a
// float64 reference computed here, and the cpu backend (which stages its buffers through the
// same kernels) against the device, to the bit.
useTensorRuntime({ deviceCount: 1 });

async function f64(t: Tensor): Promise<Float64Array> {
  return Float64Array.from((await t.data()) as Float32Array);
}

/** Largest |actual − expected| / (atol + rtol·|expected|); ≤ 1 passes. */
function worst(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number): number {
  expect(actual.length).toBe(expected.length);
  let w = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const a = actual[i]!;
    if (Number.isNaN(e)) {
      if (!Number.isNaN(a)) return Infinity;
      continue;
    }
    w = Math.max(w, Math.abs(a - e) / (atol + rtol * Math.abs(e)));
  }
  return w;
}

async function sameOnCpu(make: (device: string) => Tensor): Promise<Float32Array> {
  const device = (await make('openreg').data()) as Float32Array;
  const cpu = (await make('cpu').data()) as Float32Array;
  expect(Array.from(cpu)).toEqual(Array.from(device));
  return device;
}

describe('wasm SIMD kernels', () => {
  it('matmul matches a float64 product for dense and transposed operands across block edges', async () => {
    manualSeed(1);
    for (const [n, k, m] of [[1, 1, 1], [3, 5, 7], [4, 8, 8], [9, 130, 17], [33, 300, 270], [5, 257, 513]] as const) {
      const a = randn(n, k);
      const b = randn(k, m);
      const [x, y] = [await f64(a), await f64(b)];
      const expected = new Float64Array(n * m);
      for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) for (let p = 0; p < k; p++) expected[i * m + j] += x[i * k + p]! * y[p * m + j]!;
      // float32 accumulation over k terms of size ~1: PyTorch's own tolerance scaled by √k.
      const tol = 2e-6 * Math.sqrt(k);
      // A transposed layout is made on each device: a copy to another device may make it dense.
      const transposed = (t: Tensor) => t.t().contiguous().t();
      const layouts = [
        ['dense', (d: string) => a.to(d).mm(b.to(d))],
        ['B transposed (the dot-product kernel)', (d: string) => a.to(d).mm(transposed(b.to(d)))],
        ['A transposed', (d: string) => transposed(a.to(d)).mm(b.to(d))],
      ] as const;
      for (const [what, product] of layouts) {
        const got = await sameOnCpu(product);
        expect(worst(got, expected, tol, tol), `${what} ${n}×${k}×${m}`).toBeLessThanOrEqual(1);
      }
    }
  });

  it('batched matmul with a broadcast batch matches per-batch products', async () => {
    manualSeed(2);
    const a = randn(3, 6, 10);
    const b = randn(10, 9);
    const got = await sameOnCpu((d) => a.to(d).matmul(b.to(d)));
    for (let s = 0; s < 3; s++) {
      const want = (await a.select(0, s).mm(b).data()) as Float32Array;
      expect(Array.from(got.subarray(s * 54, (s + 1) * 54))).toEqual(Array.from(want));
    }
  });

  it('softmax and log-softmax of rows match float64, NaN rows stay NaN, -inf terms are 0', async () => {
    manualSeed(3);
    for (const cols of [1, 3, 4, 7, 1000]) {
      const x = randn(5, cols).mul(6);
      const v = await f64(x);
      const soft = new Float64Array(v.length);
      const logSoft = new Float64Array(v.length);
      for (let r = 0; r < 5; r++) {
        const row = v.subarray(r * cols, (r + 1) * cols);
        const top = Math.max(...row);
        const sum = row.reduce((s, e) => s + Math.exp(e - top), 0);
        row.forEach((e, c) => {
          soft[r * cols + c] = Math.exp(e - top) / sum;
          logSoft[r * cols + c] = e - top - Math.log(sum);
        });
      }
      expect(worst(await sameOnCpu((d) => x.to(d).softmax(1)), soft, 1e-5, 1e-7), `softmax, ${cols} columns`).toBeLessThanOrEqual(1);
      expect(worst(await sameOnCpu((d) => x.to(d).logSoftmax(1)), logSoft, 1e-5, 1e-5), `log_softmax, ${cols} columns`).toBeLessThanOrEqual(1);
    }
    const rows = (await randn(2, 6).data()) as Float32Array;
    rows[2] = Number.NaN;
    rows[7] = Number.NEGATIVE_INFINITY;
    const special = tensor(rows, { shape: [2, 6] });
    const got = await sameOnCpu((d) => special.to(d).softmax(1));
    expect(Array.from(got.subarray(0, 6)).every(Number.isNaN)).toBe(true);
    expect(got[7]).toBe(0);
    expect(Array.from(got.subarray(6)).reduce((s, e) => s + e, 0)).toBeCloseTo(1, 6);
  });

  it('bias adds broadcast along rows and columns, and scalars, match elementwise float32 arithmetic', async () => {
    manualSeed(4);
    const x = randn(7, 13);
    const row = randn(13);
    const col = randn(7, 1);
    const [xv, rv, cv] = [await f64(x), await f64(row), await f64(col)];
    const f = Math.fround;
    expect(Array.from(await sameOnCpu((d) => x.to(d).add(row.to(d))))).toEqual(Array.from(xv, (v, i) => f(v + rv[i % 13]!)));
    expect(Array.from(await sameOnCpu((d) => x.to(d).mul(col.to(d))))).toEqual(Array.from(xv, (v, i) => f(v * cv[Math.floor(i / 13)]!)));
    expect(Array.from(await sameOnCpu((d) => x.to(d).sub(row.to(d), 0.5)))).toEqual(Array.from(xv, (v, i) => f(v + f(-0.5 * rv[i % 13]!))));
    expect(Array.from(await sameOnCpu((d) => x.to(d).div(3)))).toEqual(Array.from(xv, (v) => f(v / f(3))));
    expect(Array.from(await sameOnCpu((d) => x.to(d).maximum(row.to(d))))).toEqual(Array.from(xv, (v, i) => Math.max(v, rv[i % 13]!)));
  });

  it('sums over rows and over the batch, and amax, match float64 (NaN wins amax)', async () => {
    manualSeed(5);
    const x = randn(37, 45);
    const v = await f64(x);
    const rowSums = Array.from({ length: 37 }, (_, r) => v.subarray(r * 45, (r + 1) * 45).reduce((s, e) => s + e, 0));
    const colSums = Array.from({ length: 45 }, (_, c) => Array.from({ length: 37 }, (_, r) => v[r * 45 + c]!).reduce((s, e) => s + e, 0));
    expect(Array.from(await sameOnCpu((d) => x.to(d).sum(1)))).toEqual(rowSums.map(Math.fround));
    expect(Array.from(await sameOnCpu((d) => x.to(d).sum(0)))).toEqual(colSums.map(Math.fround));
    expect(Array.from(await sameOnCpu((d) => x.to(d).mean(0)))).toEqual(colSums.map((s) => Math.fround(s * (1 / 37))));
    expect(Array.from(await sameOnCpu((d) => x.to(d).amax(1)))).toEqual(Array.from({ length: 37 }, (_, r) => Math.max(...v.subarray(r * 45, (r + 1) * 45))));
    const nanValues = Float32Array.from(v);
    nanValues[100] = Number.NaN;
    const withNaN = tensor(nanValues, { shape: [37, 45] });
    expect(Number.isNaN((await sameOnCpu((d) => withNaN.to(d).amax()))[0])).toBe(true);
  });

  it('exp, log, tanh and sigmoid stay within 2 ulp of float64 and keep IEEE specials', async () => {
    manualSeed(6);
    const x = randn(4099).mul(8);
    const v = await f64(x);
    const pos = x.abs().add(1e-30);
    const pv = await f64(pos);
    const cases = [
      ['exp', x, v, Math.exp],
      ['tanh', x, v, Math.tanh],
      ['sigmoid', x, v, (e: number) => 1 / (1 + Math.exp(-e))],
      ['log', pos, pv, Math.log],
    ] as const;
    for (const [name, input, values, fn] of cases) {
      const got = await sameOnCpu((d) => (input.to(d) as unknown as Record<string, () => Tensor>)[name]!());
      const spacing = (e: number) => {
        const a = new Float32Array([Math.abs(e)]);
        new Uint32Array(a.buffer)[0]! += 1;
        return a[0]! - Math.fround(Math.abs(e));
      };
      const bad = Array.from(values).findIndex((e, i) => Math.abs(got[i]! - fn(e)) > 2 * spacing(fn(e)) + 1e-45);
      expect(bad, `${name}(${values[bad]}) = ${got[bad]}, not ${fn(values[bad] ?? 0)}`).toBe(-1);
    }
    const specials = tensor(new Float32Array([0, -0, Infinity, -Infinity, Number.NaN, 100, -100, 1e-40]), { shape: [8] });
    const s = (name: string) => sameOnCpu((d) => (specials.to(d) as unknown as Record<string, () => Tensor>)[name]!()).then((a) => Array.from(a));
    expect(await s('exp')).toEqual([1, 1, Infinity, 0, Number.NaN, Infinity, Math.fround(Math.exp(-100)), 1]);
    expect((await s('log')).slice(0, 5)).toEqual([-Infinity, -Infinity, Infinity, Number.NaN, Number.NaN]);
    expect((await s('tanh')).slice(0, 7)).toEqual([0, -0, 1, -1, Number.NaN, 1, -1]);
    expect((await s('sigmoid')).slice(0, 5)).toEqual([0.5, 0.5, 1, 0, Number.NaN]);
  });

  it('float16 and bfloat16 matmul accumulate in float32 and round once, as the float32 product of the same values rounds', async () => {
    manualSeed(7);
    for (const dtype of ['float16', 'bfloat16'] as const) {
      for (const [n, k, m] of [[1, 1, 1], [5, 3, 9], [9, 128, 20], [2, 40, 300]] as const) {
        const a = randn(n, k).to(dtype);
        const b = randn(k, m).to(dtype);
        const got = await sameOnCpu((d) => a.to(d).mm(b.to(d)).float());
        // Up to 128 deep, matmulF32 sums in the same order: its float32 result, rounded once, is the answer.
        const want = await a.float().mm(b.float()).to(dtype).float().data();
        expect(Array.from(got), `${dtype} ${n}×${k}×${m}`).toEqual(Array.from(want as Float32Array));
      }
      // Specials and subnormals survive the conversions both ways: x·1 = x (but -0, which a sum from +0 makes +0).
      const values = new Float32Array([0, 65504, -65504, 6e-8, -3e-5, Infinity, -Infinity, Number.NaN, 1 / 3, 3e38]);
      const x = tensor(values, { shape: [values.length, 1] }).to(dtype);
      const one = tensor(new Float32Array([1]), { shape: [1, 1] }).to(dtype);
      const got = await sameOnCpu((d) => x.to(d).mm(one.to(d)).float());
      expect(Array.from(got)).toEqual(Array.from((await x.float().data()) as Float32Array));
    }
  });

  it('float16 and bfloat16 elementwise ops compute in float32 and round once, as the float32 op of the same values rounds', async () => {
    manualSeed(8);
    for (const dtype of ['float16', 'bfloat16'] as const) {
      const x = randn(7, 13).mul(4).to(dtype);
      const row = randn(13).to(dtype);
      const col = randn(7, 1).to(dtype);
      const cases: [string, (t: Tensor, r: Tensor, c: Tensor) => Tensor][] = [
        ['add a row', (t, r) => t.add(r)],
        ['sub with alpha', (t, r) => t.sub(r.expand(7, 13).contiguous(), -2)],
        ['mul by a column', (t, _r, c) => t.mul(c)],
        ['div by a scalar', (t) => t.div(3)],
        ['maximum', (t) => t.maximum(t.neg())],
        ['exp', (t) => t.exp()],
        ['log', (t) => t.abs().log()],
        ['tanh', (t) => t.tanh()],
        ['sigmoid', (t) => t.sigmoid()],
        ['relu', (t) => t.relu()],
      ];
      for (const [what, op] of cases) {
        const got = await sameOnCpu((d) => op(x.to(d), row.to(d), col.to(d)).float());
        const want = await op(x.float(), row.float(), col.float()).to(dtype).float().data();
        expect(Array.from(got), `${dtype} ${what}`).toEqual(Array.from(want as Float32Array));
      }
    }
  });

  it('comparisons into bool masks, across the 16-element blocks and their tails, in every float dtype, equal double comparisons of the stored values', async () => {
    // Quarter steps in [-8, 8): exact in every float dtype, so ties (eq, le, ge) happen often.
    const values = (n: number, seed: number) => Array.from({ length: n }, (_, i) => (((i * 7 + seed * 13) % 64) - 32) / 4);
    const specials = [Number.NaN, -0, 0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];
    const compare = { eq: (x: number, y: number) => x === y, ne: (x: number, y: number) => x !== y, lt: (x: number, y: number) => x < y, le: (x: number, y: number) => x <= y, gt: (x: number, y: number) => x > y, ge: (x: number, y: number) => x >= y };
    for (const dtype of ['float32', 'float64', 'float16', 'bfloat16'] as const) {
      for (const n of [16, 37]) {
        const xs = [...specials, ...values(n - specials.length, 1)];
        const ys = [...specials.slice().reverse(), ...values(n - specials.length, 2)];
        for (const [name, fn] of Object.entries(compare)) {
          const byTensor = await sameOnCpu((d) => tensor(xs, { dtype, device: d })[name as 'eq'](tensor(ys, { dtype, device: d })).float());
          expect(Array.from(byTensor), `${dtype} ${name} n=${n}`).toEqual(xs.map((x, i) => Number(fn(x, ys[i]!))));
          const byScalar = await sameOnCpu((d) => tensor(xs, { dtype, device: d })[name as 'eq'](0.5).float());
          expect(Array.from(byScalar), `${dtype} ${name} 0.5 n=${n}`).toEqual(xs.map((x) => Number(fn(x, 0.5))));
        }
      }
    }
  });

  it('dtype conversions between float32 and float16, bfloat16 or float64 round once to nearest even, as the host converts, specials included', async () => {
    const f = Math.fround;
    // Ties and near-ties at both half types' precision, the float16 overflow edge, subnormals, specials, and bits below every precision.
    const edges = [0, -0, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN, 65504, f(65519.99), 65520, 1e5, 2 ** -24, 1.5 * 2 ** -24, 2.5 * 2 ** -24, 2 ** -25, 2 ** -26, 3e-5, 6.1e-5, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -11, 1 + 3 * 2 ** -11, -(1 + 2 ** -11), 3.4e38, -1.2e-38, 1e-45];
    manualSeed(12);
    const random = Array.from(await randn(203).mul(300).data() as Float32Array);
    const values = [...edges.map(f), ...random];
    const x = tensor(values, { dtype: 'float32' });
    for (const dtype of ['float16', 'bfloat16', 'float64'] as const) {
      // The host's conversion (the cpu factory fills on the calling thread, in JS) is the reference.
      const want = await tensor(values, { dtype }).toArray();
      for (const device of ['openreg', 'cpu']) {
        const narrowed = x.to(device).to(dtype);
        expect(await narrowed.toArray(), `float32 → ${dtype} on ${device}`).toEqual(want);
        expect(await narrowed.to('float32').toArray(), `${dtype} → float32 on ${device}`).toEqual((want as number[]).map(f));
      }
    }
    const doubles = values.map((v, i) => v + i * 1e-9);
    const wantF32 = doubles.map(f);
    for (const device of ['openreg', 'cpu']) expect(await tensor(doubles, { dtype: 'float64', device }).to('float32').toArray(), `float64 → float32 on ${device}`).toEqual(wantF32);
  });

  it('pow with the exponent 2 gives the bits of IEEE pow, in every float dtype, specials and overflow included', async () => {
    manualSeed(13);
    const values = [0, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e20, -3e19, 1e-30, 255, 300, ...Array.from(await randn(41).mul(50).data() as Float32Array)];
    for (const dtype of ['float32', 'float64', 'float16', 'bfloat16'] as const) {
      const stored = await tensor(values, { dtype }).toArray() as number[];
      const want = await tensor(stored.map((v) => Math.pow(v, 2)), { dtype }).toArray();
      for (const device of ['openreg', 'cpu']) expect(await tensor(stored, { dtype, device }).pow(2).toArray(), `${dtype} on ${device}`).toEqual(want);
    }
  });

  it('float64 elementwise ops and matmul equal JavaScript double arithmetic; float64 sums and amax match it', async () => {
    manualSeed(9);
    const x = randn(9, 11).to('float64');
    const row = randn(11).to('float64');
    const col = randn(9, 1).to('float64');
    const [xv, rv, cv] = [await x.data(), await row.data(), await col.data()] as Float64Array[];
    const at = (i: number) => [xv![i]!, rv![i % 11]!, cv![Math.floor(i / 11)]!] as const;
    const exact: [string, (t: Tensor, r: Tensor, c: Tensor) => Tensor, (v: number, r: number, c: number) => number][] = [
      ['add a row', (t, r) => t.add(r), (v, r) => v + r],
      ['sub a row with alpha', (t, r) => t.sub(r.expand(9, 11).contiguous(), 0.3), (v, r) => v - 0.3 * r],
      ['mul by a column', (t, _r, c) => t.mul(c), (v, _r, c) => v * c],
      ['div by a scalar', (t) => t.div(7), (v) => v / 7],
      ['minimum', (t, r) => t.minimum(r), (v, r) => Math.min(v, r)],
      ['neg', (t) => t.neg(), (v) => -v],
      ['relu', (t) => t.relu(), (v) => (v > 0 ? v : 0)],
      ['sqrt of abs', (t) => t.abs().sqrt(), (v) => Math.sqrt(Math.abs(v))],
    ];
    for (const [what, op, ref] of exact) {
      const got = await sameOnCpu64((d) => op(x.to(d), row.to(d), col.to(d)));
      expect(Array.from(got), what).toEqual(Array.from(xv!, (_, i) => ref(...at(i))));
    }
    const sums = await sameOnCpu64((d) => x.to(d).sum(1));
    const want = Array.from({ length: 9 }, (_, r) => xv!.subarray(r * 11, (r + 1) * 11).reduce((s, v) => s + v, 0));
    expect(worst(sums, want, 1e-15, 1e-15)).toBeLessThanOrEqual(1);
    const colSums = await sameOnCpu64((d) => x.to(d).sum(0));
    expect(worst(colSums, Array.from({ length: 11 }, (_, c) => Array.from({ length: 9 }, (_, r) => xv![r * 11 + c]!).reduce((s, v) => s + v, 0)), 1e-15, 1e-15)).toBeLessThanOrEqual(1);
    // matmul sums each output in index order, as the JavaScript loop does: equal to the bit, across block edges.
    for (const [n, k, m] of [[3, 5, 7], [6, 150, 260]] as const) {
      const [p, q] = [randn(n, k).to('float64'), randn(k, m).to('float64')];
      const [pv, qv] = [await p.data(), await q.data()] as Float64Array[];
      const want = Array.from({ length: n * m }, (_, i) => {
        let acc = 0;
        for (let t = 0; t < k; t++) acc += pv![Math.floor(i / m) * k + t]! * qv![t * m + (i % m)]!;
        return acc;
      });
      expect(Array.from(await sameOnCpu64((d) => p.to(d).mm(q.to(d)))), `${n}×${k}×${m}`).toEqual(want);
    }
    expect(Array.from(await sameOnCpu64((d) => x.to(d).amax(1)))).toEqual(Array.from({ length: 9 }, (_, r) => Math.max(...xv!.subarray(r * 11, (r + 1) * 11))));
  });

  it('max over the last dimension answers the first occurrence, the first NaN of a row with one, and keeps the sign of zero', async () => {
    const rows = [
      [1, 5, 3, 5, 2, 5, 0, 4, 5],
      [-0, 0, -1, -0, -3, 0, -2, -1, -4],
      [-Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity],
      [1, 2, Number.NaN, 9, Number.NaN, 0, 1, 2, 3],
      [0, 0, 0, 0, 0, 0, 0, 0, 7],
    ];
    manualSeed(10);
    const random = Array.from((await randn(6, 9).data()) as Float32Array);
    const all = [...rows.flat(), ...random];
    const x = tensor(new Float32Array(all), { shape: [11, 9] });
    const want = Array.from({ length: 11 }, (_, r) => {
      const row = all.slice(r * 9, r * 9 + 9);
      let best = -Infinity;
      let at = 0;
      row.forEach((v, i) => {
        if (Number.isNaN(best)) return;
        if (Number.isNaN(v) || v > best) [best, at] = [v, i];
      });
      return [Math.fround(best), at] as const;
    });
    for (const d of ['openreg', 'cpu']) {
      const [values, indices] = x.to(d).max(1) as unknown as [Tensor, Tensor];
      const v = Array.from((await values.data()) as Float32Array);
      const ix = Array.from((await indices.data()) as BigInt64Array, Number);
      expect(ix, d).toEqual(want.map((w) => w[1]));
      expect(v.map((e) => (Object.is(e, -0) ? '-0' : String(e))), d).toEqual(want.map((w) => (Object.is(w[0], -0) ? '-0' : String(w[0]))));
    }
  });
});

async function sameOnCpu64(make: (device: string) => Tensor): Promise<Float64Array> {
  const device = (await make('openreg').data()) as Float64Array;
  const cpu = (await make('cpu').data()) as Float64Array;
  expect(Array.from(cpu)).toEqual(Array.from(device));
  return device;
}
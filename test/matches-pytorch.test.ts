import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as o from '../dist/src/index.js';
import { useTensorRuntime } from './helpers.js';

// Every case of test/fixtures/torch-reference.json (written by test/reference/torch_reference.py
// from PyTorch 1.13) replayed on the cpu backend and on an openreg device: the result's dtype,
// shape and values, or a coded error at the call where PyTorch raises.

type Encoded = number | boolean | string;
interface TensorArg {
  readonly dtype: o.DType;
  readonly shape: number[];
  readonly values: Encoded[];
}
interface Described {
  readonly dtype: o.DType;
  readonly shape: number[];
  readonly values: Encoded[];
}
interface Case {
  readonly name: string;
  readonly op: string;
  readonly args: unknown[];
  readonly kwargs: Record<string, unknown>;
  readonly expected: Described | Described[] | { readonly error: string };
}

const fixture = JSON.parse(readFileSync(new URL('./fixtures/torch-reference.json', import.meta.url), 'utf8')) as { torch: string; cases: Case[] };

/** Where openreg answers differently on purpose: each is listed under "Deviations" in the README. */
const DEVIATIONS: readonly { readonly cases: RegExp; readonly why: string }[] = [
  { cases: /^(softmax|logSoftmax)\(int64\[(0, 3|3, 0)\]/, why: 'softmax of an integer tensor is refused even when it is empty (PyTorch checks the dtype only when there are elements)' },
  { cases: /^tensor\(\[-1\], dtype='uint8'\)/, why: 'a negative value is refused for uint8 (PyTorch wraps -1 to 255)' },
  { cases: /^arange\(0, 300, 1, dtype='uint8'\)/, why: 'arange refuses values past the dtype (PyTorch wraps 256 to 0)' },
  { cases: /^where\(bool\[2, 3\], 1\.0, 0\.0\)/, why: 'JS has one number type: an integer-valued scalar is an int (1.0 is 1), so where(c, 1.0, 0.0) is int64 (PyTorch float32)' },
  { cases: /^(remainder|fmod)\(int32\[2\], int32\[2\]\)/, why: 'integer remainder and fmod by a zero element give 0 (PyTorch raises ZeroDivisionError; a zero scalar divisor is refused as in PyTorch)' },
];
const deviates = (c: Case) => DEVIATIONS.some((d) => d.cases.test(c.name));

let rt: o.Runtime;
useTensorRuntime({ deviceCount: 1 }, (r) => (rt = r));

function decodeNumber(v: Encoded): number | boolean {
  if (v === 'nan') return Number.NaN;
  if (v === 'inf') return Number.POSITIVE_INFINITY;
  if (v === '-inf') return Number.NEGATIVE_INFINITY;
  return v as number | boolean;
}

function decodeArg(arg: unknown, device: string): unknown {
  if (typeof arg === 'object' && arg !== null && 'tensor' in arg) {
    const t = (arg as { tensor: TensorArg }).tensor;
    return o.tensor(t.values.map(decodeNumber) as number[], { dtype: t.dtype, device }).reshape(...t.shape);
  }
  if (Array.isArray(arg)) return arg.map((a) => decodeArg(a, device));
  return typeof arg === 'string' ? decodeNumber(arg) : arg;
}

/** Calls the openreg counterpart of the case's PyTorch call. */
function run(c: Case, device: string): Promise<o.Tensor | o.Tensor[]> {
  return call(c.op, c.args.map((a) => decodeArg(a, device)), c.kwargs, device);
}

/** The upstream gradient backward cases feed: 1, 1.5, 2, 1, … (the generator's upstream_weights). */
function upstream(y: o.Tensor): o.Tensor {
  const n = y.numel();
  return o.tensor(Array.from({ length: n }, (_, i) => 1 + (i % 3) * 0.5), { dtype: y.dtype, device: y.device.toString() }).reshape(...y.shape);
}

/** Async: nonzero and maskedSelect answer with a Promise (their sizes are read from the device). */
async function call(op: string, args: unknown[], kwargs: Record<string, unknown>, device: string): Promise<o.Tensor | o.Tensor[]> {
  const k = kwargs as { alpha?: number; dim?: number | number[]; keepdim?: boolean; dtype?: o.DType; approximate?: 'none' | 'tanh' };
  const [self, other] = args as [o.Tensor, unknown];
  switch (op) {
    case 'tensor':
      return o.tensor(args[0], { device, ...(k.dtype === undefined ? {} : { dtype: k.dtype }) });
    case 'full':
      return o.full(args[0] as number[], args[1] as number, { device, ...(k.dtype === undefined ? {} : { dtype: k.dtype }) });
    case 'arange':
      return o.arange(args[0] as number, args[1] as number, args[2] as number, { device, ...(k.dtype === undefined ? {} : { dtype: k.dtype }) });
    case 'add':
    case 'sub':
    case 'add_':
      return k.alpha === undefined ? self[op](other as o.Tensor) : self[op](other as o.Tensor, k.alpha);
    case 'sum':
    case 'mean':
      return self[op](k.dim, k.keepdim ?? false);
    case 'amax':
    case 'amin':
      return self[op](k.dim ?? [], k.keepdim ?? false);
    case 'max':
    case 'min':
      return k.dim === undefined ? self[op]() : self[op](k.dim as number, k.keepdim ?? false);
    case 'argmax':
    case 'argmin':
      return self[op](k.dim as number | undefined, k.keepdim ?? false);
    case 'cat':
      return o.cat(args[0] as o.Tensor[], k.dim as number);
    case 'stack':
      return o.stack(args[0] as o.Tensor[], k.dim as number);
    case 'eye':
      return args.length === 1 ? o.eye(args[0] as number, { device }) : o.eye(args[0] as number, args[1] as number, { device });
    case 'linspace':
      return o.linspace(args[0] as number, args[1] as number, args[2] as number, { device });
    case 'softmax':
    case 'logSoftmax':
      return self[op](k.dim as number, k.dtype);
    case 'nonzero':
      return self.nonzero();
    case 'maskedSelect':
      return self.maskedSelect(args[1] as o.Tensor);
    case 'sortValues':
      return self.sort(args[1] as number, args[2] as boolean)[0];
    case 'topkValues':
      return self.topk(args[1] as number, args[2] as number, args[3] as boolean)[0];
    case 'gelu':
      return k.approximate === undefined ? self.gelu() : self.gelu(k.approximate);
    case 'clamp':
      return self.clamp(args[1] as number, args[2] as number);
    case 'where':
      return o.where(args[0] as o.Tensor, args[1] as o.Tensor, args[2] as o.Tensor);
    case 'backward': {
      // The gradients of every floating tensor argument of the op named first, for the upstream weights.
      const leaf = (a: unknown): unknown => (a instanceof o.Tensor && a.isFloatingPoint() ? a.requiresGrad_() : Array.isArray(a) ? a.map(leaf) : a);
      const leaves = args.slice(1).map(leaf);
      const y = (await call(args[0] as string, leaves, kwargs, device)) as o.Tensor;
      y.mul(upstream(y)).sum().backward();
      return leaves.flat().flatMap((a) => (a instanceof o.Tensor && a.requiresGrad ? [a.grad!] : []));
    }
    default:
      return (self as unknown as Record<string, (...xs: unknown[]) => o.Tensor>)[op]!.call(self, ...args.slice(1));
  }
}

function flat(value: unknown): unknown[] {
  return Array.isArray(value) ? value.flatMap(flat) : [value];
}

/**
 * torch.testing.assert_close's default tolerances by dtype (openreg computes in float64 and
 * rounds once, PyTorch's CPU kernels in the dtype: composites such as logSoftmax differ in
 * the last bits). Integers and bools are exact.
 */
const TOLERANCE: Partial<Record<o.DType, readonly [rtol: number, atol: number]>> = {
  float64: [1e-7, 1e-7],
  float32: [1.3e-6, 1e-5],
  float16: [1e-3, 1e-5],
  bfloat16: [1.6e-2, 1e-5],
};

function close(actual: number, expected: number, dtype: o.DType): boolean {
  if (Number.isNaN(expected)) return Number.isNaN(actual);
  if (!Number.isFinite(expected)) return actual === expected;
  const [rtol, atol] = TOLERANCE[dtype] ?? [0, 0];
  return Math.abs(actual - expected) <= atol + rtol * Math.abs(expected);
}

/** Compares one result with PyTorch's description of it; returns the problem, if any. */
async function mismatch(actual: o.Tensor, expected: Described): Promise<string | undefined> {
  if (actual.dtype !== expected.dtype) return `dtype ${actual.dtype}, PyTorch ${expected.dtype}`;
  if (actual.shape.join() !== expected.shape.join()) return `shape [${actual.shape}], PyTorch [${expected.shape}]`;
  const values = flat(await actual.toArray()).map(Number);
  const want = expected.values.map((v) => Number(decodeNumber(v)));
  for (let i = 0; i < want.length; i++) {
    if (!close(values[i]!, want[i]!, actual.dtype)) return `values [${values.join(', ')}], PyTorch [${want.join(', ')}]`;
  }
  return undefined;
}

/** Runs one case; returns what differs from PyTorch, or undefined. */
async function check(c: Case, device: string): Promise<string | undefined> {
  const refused = 'error' in c.expected;
  let result: o.Tensor | o.Tensor[];
  try {
    result = await run(c, device);
    if (refused) {
      // A refusal may come with the values (a read), never not at all.
      await Promise.all([result].flat().map((t) => t.ready()));
    }
  } catch (error) {
    if (!refused) return `threw ${String(error)}, PyTorch returns a value`;
    if (!(error instanceof o.OpenRegError)) return `threw a raw ${String(error)}, PyTorch: ${(c.expected as { error: string }).error}`;
    if (error.code !== 'ERR_INVALID_VALUE') return `threw ${error.code} (${error.message}), PyTorch: ${(c.expected as { error: string }).error}`;
    if (!error.message.startsWith(`${c.op}: `)) return `the error names another call: ${error.message}`;
    return undefined;
  }
  try {
    if (refused) return `accepted, PyTorch raises: ${(c.expected as { error: string }).error}`;
    const expected = [c.expected as Described | Described[]].flat();
    const actual = [result].flat();
    if (actual.length !== expected.length) return `returned ${actual.length} results, PyTorch ${expected.length}`;
    for (let i = 0; i < actual.length; i++) {
      const problem = await mismatch(actual[i]!, expected[i]!);
      if (problem !== undefined) return problem;
    }
    return undefined;
  } finally {
    for (const t of [result].flat()) if (!t.disposed) t.dispose();
  }
}

const groups = new Map<string, Case[]>();
for (const c of fixture.cases) groups.set(c.op, [...(groups.get(c.op) ?? []), c]);

describe(`every op call of the PyTorch ${fixture.torch} reference answers as PyTorch does`, () => {
  for (const device of ['cpu', 'openreg']) {
    for (const [op, cases] of groups) {
      it(`${op} on ${device} (${cases.length} cases)`, async () => {
        const problems: string[] = [];
        for (const c of cases) {
          if (deviates(c)) continue;
          const problem = await check(c, device);
          if (problem !== undefined) problems.push(`${c.name}: ${problem}`);
        }
        expect(problems).toEqual([]);
        expect(rt.closed).toBe(false);
      });
    }
  }
});

it('each listed deviation still matches cases of the fixture, and those cases still differ from PyTorch', async () => {
  for (const d of DEVIATIONS) {
    const cases = fixture.cases.filter((c) => d.cases.test(c.name));
    expect(cases.length, d.why).toBeGreaterThan(0);
    for (const c of cases) expect(await check(c, 'openreg'), c.name).toBeDefined();
  }
});

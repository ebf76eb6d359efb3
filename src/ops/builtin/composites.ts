import { invalidValue } from '../../errors/errors.js';
import { requireFinite, requireInteger, requireOptions } from '../../errors/validate.js';
import { DTYPES, type DType } from '../../tensor/dtype.js';
import type { DeviceLike } from '../../tensor/device.js';
import { checkDim } from '../../tensor/shape.js';
import { Tensor, asRaisedBy } from '../../tensor/tensor.js';
import { broadcastShapes } from '../../tensor/shape.js';
import { defineComposite } from '../composite.js';
import { arange, full, rand } from '../factories.js';
import type { OpMethod } from '../define-op.js';
import { cat, stack } from './cat.js';
import { where } from './selection.js';
import { coordinatesOf, truePositions } from './mask-positions.js';
// t.index([...]) is a composite too; it loads with these.
import './indexing-syntax.js';

/**
 * Shaping, statistics and factories built from other ops (PyTorch's composite implicit ops).
 * Loaded by the package entry (it exports the factories), not by builtins.ts: it uses the
 * factories, which load builtins.ts.
 */

function dims(call: string, t: Tensor, dim: number | readonly number[] | undefined): number[] {
  if (dim === undefined) return t.shape.map((_, i) => i);
  const list = typeof dim === 'number' ? [dim] : dim;
  if (!Array.isArray(list)) throw invalidValue(call, 'dim must be an integer or an array of integers', dim);
  const out = list.map((d) => checkDim(call, d, t.ndim));
  if (new Set(out).size !== out.length) throw invalidValue(call, 'dim names a dimension twice', dim);
  return out;
}

defineComposite({
  name: 'split',
  method: 'split',
  maxArgs: 2,
  fn: (self: Tensor, splitSize: number | readonly number[], dim = 0): Tensor[] => {
    const d = checkDim('split', dim, self.ndim);
    const size = self.shape[d] ?? 1;
    let sizes: number[];
    if (typeof splitSize === 'number') {
      const step = requireInteger('split', 'splitSize', splitSize, size === 0 ? 0 : 1);
      sizes = step === 0 ? [0] : Array.from({ length: Math.max(1, Math.ceil(size / step)) }, (_, i) => Math.min(step, size - i * step));
    } else {
      if (!Array.isArray(splitSize)) throw invalidValue('split', 'splitSize must be an integer or an array of integers', splitSize);
      sizes = splitSize.map((n) => requireInteger('split', 'splitSize', n, 0));
      const total = sizes.reduce((p, n) => p + n, 0);
      if (total !== size) throw invalidValue('split', `split sizes [${sizes.join(', ')}] must sum to ${size}, the size of dimension ${d}`);
    }
    let at = 0;
    return sizes.map((n) => self.slice(d, at, (at += n)));
  },
  doc: 'views of self in pieces of splitSize (the last may be smaller), or of the given sizes, along dim',
});

defineComposite({
  name: 'chunk',
  method: 'chunk',
  maxArgs: 2,
  fn: (self: Tensor, chunks: number, dim = 0): Tensor[] => {
    const n = requireInteger('chunk', 'chunks', chunks, 1);
    const size = self.shape[checkDim('chunk', dim, self.ndim)] ?? 1;
    return self.split(Math.max(1, Math.ceil(size / n)), dim);
  },
  doc: 'at most `chunks` views of equal size (the last may be smaller) along dim',
});

defineComposite({
  name: 'flip',
  method: 'flip',
  maxArgs: 1,
  fn: (self: Tensor, dimsToFlip: number | readonly number[]): Tensor => {
    let out = self;
    for (const d of dims('flip', self, dimsToFlip)) {
      const n = self.shape[d]!;
      out = out.indexSelect(d, arange(n - 1, -1, -1, { dtype: 'int64', device: self.device }));
    }
    return out === self ? self.clone() : out;
  },
  doc: 'a copy with the order of elements reversed along each of dims',
});

defineComposite({
  name: 'roll',
  method: 'roll',
  maxArgs: 2,
  fn: (self: Tensor, shifts: number | readonly number[], dim?: number | readonly number[]): Tensor => {
    const shiftList = typeof shifts === 'number' ? [shifts] : shifts;
    if (!Array.isArray(shiftList)) throw invalidValue('roll', 'shifts must be an integer or an array of integers', shifts);
    if (dim === undefined) {
      if (shiftList.length !== 1) throw invalidValue('roll', 'without dim, shifts must be one integer (the flattened tensor rolls)');
      return self.flatten().roll(shiftList[0]!, 0).reshape(...self.shape);
    }
    const ds = dims('roll', self, dim);
    if (ds.length !== shiftList.length) throw invalidValue('roll', `shifts and dims must align: ${shiftList.length} shifts, ${ds.length} dims`);
    let out = self;
    ds.forEach((d, i) => {
      const n = self.shape[d]!;
      if (n === 0) return;
      const s = ((requireInteger('roll', 'shift', shiftList[i], Number.MIN_SAFE_INTEGER) % n) + n) % n;
      if (s !== 0) out = cat([out.slice(d, n - s, n), out.slice(d, 0, n - s)], d);
    });
    return out === self ? self.clone() : out;
  },
  doc: 'elements shifted along dims, wrapping around (the flattened tensor when dims are omitted)',
});

defineComposite({
  name: 'repeat',
  method: 'repeat',
  fn: (self: Tensor, ...repeats: number[]): Tensor => {
    const reps = repeats.map((n) => requireInteger('repeat', 'repeats', n, 0));
    if (reps.length < self.ndim) throw invalidValue('repeat', `the number of repeats (${reps.length}) can not be smaller than the number of dimensions (${self.ndim})`);
    const shape = [...new Array<number>(reps.length - self.ndim).fill(1), ...self.shape];
    // [.., 1, n, ..] expanded to [.., r, n, ..] then merged: each dimension tiled r times.
    const spread = shape.flatMap((n) => [1, n]);
    const expanded = self.reshape(...spread).expand(...shape.flatMap((n, i) => [reps[i]!, n]));
    return expanded.reshape(...shape.map((n, i) => n * reps[i]!));
  },
  doc: 'self tiled repeats[i] times along each dimension (leading repeats add dimensions)',
});

defineComposite({
  name: 'tile',
  method: 'tile',
  fn: (self: Tensor, ...reps: number[]): Tensor => self.repeat(...[...new Array<number>(Math.max(0, self.ndim - reps.length)).fill(1), ...reps]),
  doc: 'repeat, with missing leading repeats taken as 1',
});

/** The mask of a matrix's elements on or below (lower) or on or above the diagonal `k`. */
function triangle(self: Tensor, k: number, lower: boolean): Tensor {
  const call = lower ? 'tril' : 'triu';
  if (self.ndim < 2) throw invalidValue(call, `input tensor must have at least 2 dimensions, got ${self.ndim}`);
  const diagonal = requireInteger(call, 'diagonal', k, Number.MIN_SAFE_INTEGER);
  const [rows, cols] = self.shape.slice(-2) as [number, number];
  const r = arange(0, rows, 1, { dtype: 'int64', device: self.device }).unsqueeze(1);
  const c = arange(0, cols, 1, { dtype: 'int64', device: self.device });
  const offset = c.sub(r);
  return where(lower ? offset.le(diagonal) : offset.ge(diagonal), self, 0);
}

defineComposite({ name: 'tril', method: 'tril', maxArgs: 1, fn: (self: Tensor, diagonal = 0): Tensor => triangle(self, diagonal, true), doc: 'the elements on and below the diagonal-th diagonal of the last two dimensions, zero elsewhere' });
defineComposite({ name: 'triu', method: 'triu', maxArgs: 1, fn: (self: Tensor, diagonal = 0): Tensor => triangle(self, diagonal, false), doc: 'the elements on and above the diagonal-th diagonal of the last two dimensions, zero elsewhere' });

interface VarOptions {
  /** Subtracted from the count in the divisor: 1 is Bessel's correction (PyTorch's default), 0 the population variance. */
  correction?: number;
  keepdim?: boolean;
}

function variance(call: string, self: Tensor, dim: number | readonly number[] | undefined, options: VarOptions | undefined): Tensor {
  const o = requireOptions<VarOptions>(call, options, 'options', ['correction', 'keepdim']);
  if (DTYPES[self.dtype].category !== 'floating') throw invalidValue(call, `${call} only supports floating dtypes, got ${self.dtype}`);
  const ds = dims(call, self, dim);
  const correction = o.correction === undefined ? 1 : requireFinite(call, 'options.correction', o.correction, 0);
  const keepdim = o.keepdim ?? false;
  const count = ds.reduce((p, d) => p * self.shape[d]!, 1);
  const centered = self.sub(self.mean(ds, true));
  // count − correction ≤ 0 divides by zero or less: inf or NaN, as PyTorch gives.
  return centered.mul(centered).sum(ds, keepdim).div(Math.max(0, count - correction));
}

defineComposite({ name: 'var', method: 'var', maxArgs: 2, fn: (self: Tensor, dim?: number | readonly number[], options?: VarOptions): Tensor => variance('var', self, dim, options), doc: 'variance over dim (all when omitted), with correction (1 by default) and keepdim' });
defineComposite({ name: 'std', method: 'std', maxArgs: 2, fn: (self: Tensor, dim?: number | readonly number[], options?: VarOptions): Tensor => variance('std', self, dim, options).sqrt(), doc: 'standard deviation: the square root of var' });

defineComposite({
  name: 'norm',
  method: 'norm',
  maxArgs: 3,
  fn: (self: Tensor, p: number | 'fro' = 2, dim?: number | readonly number[], keepdim = false): Tensor => {
    if (DTYPES[self.dtype].category !== 'floating') throw invalidValue('norm', `norm only supports floating dtypes, got ${self.dtype}`);
    const ds = dims('norm', self, dim);
    const a = self.abs();
    if (p === 'fro' || p === 2) return self.mul(self).sum(ds, keepdim).sqrt();
    if (p === Infinity) return a.amax(ds, keepdim);
    if (p === -Infinity) return a.amin(ds, keepdim);
    const q = requireFinite('norm', 'p', p);
    if (q === 0) return self.ne(0).to(self.dtype).sum(ds, keepdim);
    if (q === 1) return a.sum(ds, keepdim);
    return a.pow(q).sum(ds, keepdim).pow(1 / q);
  },
  doc: "vector p-norm over dim (all when omitted): p = 2 ('fro'), 1, ∞, −∞, 0 or any number",
});

defineComposite({ name: 'all', method: 'all', maxArgs: 2, fn: (self: Tensor, dim?: number, keepdim = false): Tensor => self.eq(0).sum(dim === undefined ? undefined : [checkDim('all', dim, self.ndim)], keepdim).eq(0), doc: 'true where every element (along dim) is nonzero' });
defineComposite({ name: 'any', method: 'any', maxArgs: 2, fn: (self: Tensor, dim?: number, keepdim = false): Tensor => self.ne(0).sum(dim === undefined ? undefined : [checkDim('any', dim, self.ndim)], keepdim).gt(0), doc: 'true where some element (along dim) is nonzero' });

defineComposite({
  name: 'bmm',
  method: 'bmm',
  maxArgs: 1,
  fn: (self: Tensor, mat2: Tensor): Tensor => {
    if (!(mat2 instanceof Tensor)) throw invalidValue('bmm', 'mat2 must be a Tensor', mat2);
    if (self.ndim !== 3 || mat2.ndim !== 3) throw invalidValue('bmm', `batch1 and batch2 must be 3-D tensors, got ${self.ndim}-D and ${mat2.ndim}-D`);
    if (self.shape[0] !== mat2.shape[0]) throw invalidValue('bmm', `batch sizes must match, got ${self.shape[0]} and ${mat2.shape[0]}`);
    return self.matmul(mat2);
  },
  doc: 'batched matrix product of two 3-D tensors with one batch size',
});

interface FactoryOptions {
  dtype?: DType;
  device?: DeviceLike;
}

export const eye = defineComposite({
  name: 'eye',
  function: 'eye',
  fn: (n: number, m?: number | FactoryOptions, options?: FactoryOptions): Tensor => {
    const [cols, o] = typeof m === 'object' ? [undefined, m] : [m, options];
    const rows = requireInteger('eye', 'n', n, 0);
    const c = cols === undefined ? rows : requireInteger('eye', 'm', cols, 0);
    const r = arange(0, rows, 1, { dtype: 'int64', ...(o?.device === undefined ? {} : { device: o.device }) });
    return r.unsqueeze(1).eq(arange(0, c, 1, { dtype: 'int64', device: r.device })).to(o?.dtype ?? 'float32');
  },
  doc: 'the n × m identity matrix (m = n by default), float32 unless a dtype is given',
});

export const linspace = defineComposite({
  name: 'linspace',
  function: 'linspace',
  fn: (start: number, end: number, steps: number, options?: FactoryOptions): Tensor => {
    const a = requireFinite('linspace', 'start', start);
    const b = requireFinite('linspace', 'end', end);
    const n = requireInteger('linspace', 'steps', steps, 0);
    const device = options?.device === undefined ? {} : { device: options.device };
    if (n === 1) return full([1], a, { dtype: options?.dtype ?? 'float32', ...device });
    const step = (b - a) / (n - 1);
    // PyTorch fills the second half from the end, so the last value is exactly end.
    const i = arange(0, n, 1, { dtype: 'float64', ...device });
    const half = Math.floor(n / 2);
    const values = where(i.lt(half), i.mul(step).add(a), i.sub(n - 1).mul(step).add(b));
    return values.to(options?.dtype ?? 'float32');
  },
  doc: 'steps values evenly spaced from start to end inclusive, float32 unless a dtype is given',
});

export const randint = defineComposite({
  name: 'randint',
  function: 'randint',
  fn: (low: number, high: number, shape: readonly number[], options?: FactoryOptions): Tensor => {
    const lo = requireInteger('randint', 'low', low, Number.MIN_SAFE_INTEGER);
    const hi = requireInteger('randint', 'high', high, lo + 1);
    const u = rand(shape, { dtype: 'float64', ...(options?.device === undefined ? {} : { device: options.device }) });
    return u.mul(hi - lo).floor().add(lo).to(options?.dtype ?? 'int64');
  },
  doc: "integers uniform in [low, high) from the device's generator, int64 unless a dtype is given",
});

export const randperm = defineComposite({
  name: 'randperm',
  function: 'randperm',
  fn: (n: number, options?: FactoryOptions): Tensor => {
    const count = requireInteger('randperm', 'n', n, 0);
    const keys = rand([count], { dtype: 'float64', ...(options?.device === undefined ? {} : { device: options.device }) });
    return keys.argsort().to(options?.dtype ?? 'int64');
  },
  doc: "a random permutation of 0 … n − 1 from the device's generator (argsort of uniform keys), int64 unless a dtype is given",
});

export const bernoulli = defineComposite({
  name: 'bernoulli',
  function: 'bernoulli',
  fn: (p: Tensor): Tensor => {
    if (!(p instanceof Tensor) || DTYPES[p.dtype].category !== 'floating') throw invalidValue('bernoulli', 'p must be a floating Tensor of probabilities', p);
    return rand(p.shape, { dtype: p.dtype === 'float64' ? 'float64' : 'float32', device: p.device }).lt(p).to(p.dtype);
  },
  doc: "1 with probability p (elementwise, from the device's generator), else 0, in p's dtype",
});

defineComposite({
  name: 'nonzero',
  method: 'nonzero',
  maxArgs: 0,
  fn: (self: Tensor): Promise<Tensor> =>
    (async () => {
      try {
        const at = await truePositions(self);
        const columns = coordinatesOf(at, self.shape);
        return self.ndim === 0 ? full([at.numel(), 0], 0, { dtype: 'int64', device: self.device }) : stack(columns, 1);
      } catch (error) {
        throw asRaisedBy('nonzero', error);
      }
    })(),
  doc: 'the coordinates of the nonzero elements, one row each, in row-major order (a Promise: its size is read from the device)',
});

defineComposite({
  name: 'maskedSelect',
  method: 'maskedSelect',
  maxArgs: 1,
  fn: (self: Tensor, mask: Tensor): Promise<Tensor> =>
    (async () => {
      try {
        if (!(mask instanceof Tensor) || (mask.dtype !== 'bool' && mask.dtype !== 'uint8')) throw invalidValue('maskedSelect', 'mask must be a bool tensor', mask);
        const shape = broadcastShapes('maskedSelect', self.shape, mask.shape);
        const at = await truePositions(mask.expand(...shape));
        return self.expand(...shape).reshape(-1).indexSelect(0, at);
      } catch (error) {
        throw asRaisedBy('maskedSelect', error);
      }
    })(),
  doc: "the elements of self where mask (broadcast) is true, as 1-D: PyTorch's x[mask] (a Promise: its size is read from the device)",
});

declare module '../../tensor/tensor.js' {
  interface Tensor {
    nonzero: () => Promise<Tensor>;
    maskedSelect: (mask: Tensor) => Promise<Tensor>;
    split: (splitSize: number | readonly number[], dim?: number) => Tensor[];
    chunk: (chunks: number, dim?: number) => Tensor[];
    flip: OpMethod<[dims: number | readonly number[]]>;
    roll: OpMethod<[shifts: number | readonly number[], dims?: number | readonly number[]]>;
    repeat: OpMethod<number[]>;
    tile: OpMethod<number[]>;
    tril: OpMethod<[diagonal?: number]>;
    triu: OpMethod<[diagonal?: number]>;
    var: OpMethod<[dim?: number | readonly number[], options?: VarOptions]>;
    std: OpMethod<[dim?: number | readonly number[], options?: VarOptions]>;
    norm: OpMethod<[p?: number | 'fro', dim?: number | readonly number[], keepdim?: boolean]>;
    all: OpMethod<[dim?: number, keepdim?: boolean]>;
    any: OpMethod<[dim?: number, keepdim?: boolean]>;
    bmm: OpMethod<[mat2: Tensor]>;
  }
}

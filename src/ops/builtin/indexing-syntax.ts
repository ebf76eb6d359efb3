import { invalidValue } from '../../errors/errors.js';
import { Tensor } from '../../tensor/tensor.js';
import { defineComposite } from '../composite.js';
import { where } from './selection.js';
import { arange, full } from '../factories.js';
import { trueCoordinatesSync } from './mask-positions.js';

/**
 * PyTorch's `t[...]` as `t.index([...])`: integers select (negative from the end), `':'`-style
 * strings and `{ start, stop, step }` slice (views), `null` adds a dimension, `'...'` stands for
 * the dimensions not named, and integer tensors index by position (advanced indexing: several
 * broadcast together; their dimensions go where the first one was when they are adjacent, in
 * front otherwise). A bool mask of k dimensions indexes those k dimensions by the coordinates of
 * its true elements, as k integer tensors (PyTorch's nonzero): the mask is read with a blocking
 * wait, as PyTorch's t[mask] synchronizes.
 */

export type IndexItem = number | null | string | { start?: number; stop?: number; step?: number } | Tensor;

interface SliceSpec {
  start?: number;
  stop?: number;
  step: number;
}

function parseSlice(item: string): SliceSpec {
  const parts = item.split(':');
  if (parts.length < 2 || parts.length > 3) throw invalidValue('index', "a slice string is 'start:stop' or 'start:stop:step' (each part optional)", item);
  const num = (p: string | undefined, what: string): number | undefined => {
    if (p === undefined || p.trim() === '') return undefined;
    const v = Number(p);
    if (!Number.isInteger(v)) throw invalidValue('index', `the ${what} of a slice must be an integer`, item);
    return v;
  };
  return { start: num(parts[0], 'start'), stop: num(parts[1], 'stop'), step: num(parts[2], 'step') ?? 1 };
}

function sliceOf(item: IndexItem): SliceSpec | undefined {
  if (typeof item === 'string' && item !== '...') return parseSlice(item);
  if (typeof item === 'object' && item !== null && !(item instanceof Tensor)) {
    for (const k of Object.keys(item)) if (!['start', 'stop', 'step'].includes(k)) throw invalidValue('index', `a slice object has start, stop and step, not ${k}`, item);
    if (item.step !== undefined && (!Number.isInteger(item.step) || item.step < 1)) throw invalidValue('index', 'slice step must be a positive integer', item.step);
    return { start: item.start, stop: item.stop, step: item.step ?? 1 };
  }
  return undefined;
}

/** Dimensions an item consumes: integers, slices and integer tensors one each, a bool mask its own count; null and '...' none. */
const dimsTaken = (item: IndexItem): number => (item === null || item === '...' ? 0 : item instanceof Tensor && item.dtype === 'bool' ? item.ndim : 1);

export const index = defineComposite({
  name: 'index',
  method: 'index',
  maxArgs: 1,
  fn: (self: Tensor, items: readonly IndexItem[]): Tensor => {
    if (!Array.isArray(items)) throw invalidValue('index', 'expected an array of indices (PyTorch\'s t[a, b, …] is t.index([a, b, …]))', items);
    const ellipses = items.filter((i) => i === '...').length;
    if (ellipses > 1) throw invalidValue('index', "an index can only have a single ellipsis ('...')");
    const named = items.reduce((n, item) => n + dimsTaken(item), 0);
    if (named > self.ndim) throw invalidValue('index', `too many indices for tensor of dimension ${self.ndim}`);
    // '...' expands to the dimensions no item names; without one, they trail.
    const full: IndexItem[] = [];
    for (const item of items) {
      if (item === '...') for (let k = 0; k < self.ndim - named; k++) full.push(':');
      else full.push(item);
    }
    if (ellipses === 0) for (let k = named; k < self.ndim; k++) full.push(':');
    // Basic indexing first (views), remembering where each tensor index lands in the result.
    let out = self;
    let dim = 0;
    const advanced: { dim: number; index: Tensor }[] = [];
    for (const item of full) {
      if (item === null) {
        out = out.unsqueeze(dim++);
      } else if (typeof item === 'number') {
        if (!Number.isInteger(item)) throw invalidValue('index', 'an integer index must be an integer', item);
        const size = out.shape[dim]!;
        if (item < -size || item >= size) throw invalidValue('index', `index ${item} is out of bounds for dimension ${dim} with size ${size}`);
        out = out.select(dim, item < 0 ? item + size : item);
      } else if (item instanceof Tensor) {
        if (item.dtype === 'bool') {
          ({ out, dim } = maskIndex(out, dim, item, advanced));
          continue;
        }
        if (item.dtype !== 'int64' && item.dtype !== 'int32') throw invalidValue('index', `tensors used as indices must be int64 or int32, got ${item.dtype}`);
        advanced.push({ dim, index: item });
        dim++;
      } else {
        const spec = sliceOf(item);
        if (spec === undefined) throw invalidValue('index', "an index is an integer, a slice (':' string or { start, stop, step }), null, '...' or an integer tensor", item);
        out = out.slice(dim++, spec.start, spec.stop, spec.step);
      }
    }
    if (advanced.length === 0) return out;
    return advancedIndex(out, advanced);
  },
  doc: "t[…] as t.index([…]): integers, slices (':' strings or { start, stop, step }), null, '...', integer tensors (advanced indexing) and bool masks",
});

/**
 * A bool mask at dimension `dim` of `t`: the coordinates of its true elements become one
 * advanced index per dimension it covers; returns `t` and the next dimension. A 0-d mask adds a
 * dimension of size 1 (true) or 0 (false), as in PyTorch.
 */
function maskIndex(t: Tensor, dim: number, mask: Tensor, advanced: { dim: number; index: Tensor }[]): { out: Tensor; dim: number } {
  const m = mask.ndim === 0 ? mask.reshape(1) : mask;
  if (mask.ndim === 0) t = t.unsqueeze(dim);
  m.shape.forEach((n, j) => {
    if (n !== t.shape[dim + j]) {
      throw invalidValue('index', `the shape of the mask [${m.shape.join(', ')}] at index ${j} does not match the shape of the indexed tensor [${t.shape.join(', ')}] at index ${dim + j}`);
    }
  });
  trueCoordinatesSync('index', m).forEach((index, j) => advanced.push({ dim: dim + j, index }));
  return { out: t, dim: dim + m.ndim };
}

/** Gathers by integer tensors at the given dimensions of `t` (PyTorch's advanced indexing). */
function advancedIndex(t: Tensor, advanced: readonly { dim: number; index: Tensor }[]): Tensor {
  const dims = advanced.map((a) => a.dim);
  const adjacent = dims.every((d, i) => i === 0 || d === dims[i - 1]! + 1);
  // The indexed dimensions, moved together to the front (or kept in place when adjacent).
  const first = adjacent ? dims[0]! : 0;
  const order = adjacent ? t.shape.map((_, i) => i) : [...dims, ...t.shape.map((_, i) => i).filter((d) => !dims.includes(d))];
  const moved = adjacent ? t : t.permute(...order);
  const sizes = dims.map((d) => t.shape[d]!);
  // One linear index over the indexed dimensions, broadcast across the index tensors.
  const count = sizes.reduce((p, n) => p * n, 1);
  let linear: Tensor | undefined;
  advanced.forEach(({ index }, k) => {
    const n = sizes[k]!;
    const wrapped = where(index.lt(0), index.add(n), index).to('int64');
    // An index out of its own dimension's range must not land inside another's: it becomes `count`, which the gather refuses.
    const checked = where(wrapped.lt(0).logicalOr(wrapped.ge(n)), count, wrapped);
    linear = linear === undefined ? checked : where(checked.eq(count).logicalOr(linear.eq(count)), count, linear.mul(n).add(checked));
  });
  const before = moved.shape.slice(0, first);
  const after = moved.shape.slice(first + dims.length);
  const merged = moved.reshape(...before, count, ...after);
  const flat = linear!.reshape(-1);
  // An index out of range fails in the gather kernel (CUDA's device-side assert).
  const picked = merged.indexSelect(first, flat);
  return picked.reshape(...before, ...linear!.shape, ...after);
}

defineComposite({
  name: 'indexPut_',
  method: 'indexPut_',
  maxArgs: 3,
  fn: (self: Tensor, items: readonly IndexItem[], values: Tensor | number | boolean, accumulate = false): Tensor => {
    if (typeof accumulate !== 'boolean') throw invalidValue('indexPut_', 'accumulate must be a boolean', accumulate);
    // Which elements the index names, as positions in self's elements in row-major order: index an arange of them.
    const positions = arange(0, self.numel(), 1, { dtype: 'int64', device: self.device }).reshape(...self.shape).index(items);
    let source: Tensor;
    if (values instanceof Tensor) {
      if (values.dtype !== self.dtype) throw invalidValue('indexPut_', `values must have self's dtype (${self.dtype}), got ${values.dtype}`);
      source = values.expand(...positions.shape).contiguous().reshape(-1);
    } else {
      if (typeof values !== 'number' && typeof values !== 'boolean') throw invalidValue('indexPut_', 'values must be a Tensor, a number or a boolean', values);
      source = full([positions.numel()], Number(values), { dtype: self.dtype, device: self.device });
    }
    const flat = positions.reshape(-1);
    // Written through a contiguous copy when self is not contiguous (its flat view would be one).
    const target = self.isContiguous() ? self : self.contiguous();
    const view = target.reshape(-1);
    if (accumulate) view.scatterAdd_(0, flat, source);
    else view.scatter_(0, flat, source);
    if (target !== self) self.copy_(target);
    return self;
  },
  doc: 't[…] = values in place (values broadcast to the indexed shape); accumulate adds, repeated indices included',
});

declare module '../../tensor/tensor.js' {
  interface Tensor {
    index(items: readonly IndexItem[]): Tensor;
    indexPut_(items: readonly IndexItem[], values: Tensor | number | boolean, accumulate?: boolean): Tensor;
  }
}

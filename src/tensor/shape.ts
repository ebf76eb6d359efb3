import { invalidValue } from '../errors/errors.js';
import { MAX_TENSOR_DIMS } from '../protocol/tensor-abi.js';
import { contiguousStrides, isDenseOver } from '../protocol/kernel-abi.js';

/** Most elements a tensor may have: any dtype's byte count stays an exact JS integer. */
export const MAX_NUMEL = 2 ** 50;

/** The one dimension limit, checked wherever a shape enters (factories, views, nested data, load). */
export function checkRank(call: string, rank: number): void {
  if (rank > MAX_TENSOR_DIMS) throw invalidValue(call, `tensors of at most ${MAX_TENSOR_DIMS} dimensions are supported`, rank);
}

/**
 * Shapes and strides, as PyTorch computes them: the geometry of views. Strides are in
 * elements; a view shares its base's storage with its own shape, strides and offset.
 */
export type Shape = readonly number[];

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export { contiguousStrides };

/** True if `strides` lay `shape` out row-major with no gaps (size-1 dimensions may have any stride). */
export function isContiguous(shape: Shape, strides: readonly number[]): boolean {
  return isDenseOver(shape, strides);
}

/** A shape argument checked for `call`: non-negative integers; one -1 is inferred from `total`, if given. */
export function checkShape(call: string, shape: unknown, total?: number): number[] {
  if (!Array.isArray(shape)) throw invalidValue(call, 'shape must be an array of integers', shape);
  checkRank(call, shape.length);
  // Array.from visits holes ([ , 2]) as undefined, where map would keep them.
  const out = Array.from(shape as unknown[], (d: unknown, i) => {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < -1 || (d === -1 && total === undefined)) {
      throw invalidValue(call, `shape[${i}] must be an integer >= 0${total === undefined ? '' : ' (or one -1)'}`, d);
    }
    return d;
  });
  const inferred = out.indexOf(-1);
  if (inferred >= 0) {
    if (out.indexOf(-1, inferred + 1) >= 0) throw invalidValue(call, 'only one dimension can be -1', shape);
    const known = numel(out.filter((d) => d !== -1));
    if (known === 0 || total! % known !== 0) throw invalidValue(call, `shape ${JSON.stringify(shape)} is invalid for ${total} elements`);
    out[inferred] = total! / known;
  }
  if (total !== undefined && numel(out) !== total) throw invalidValue(call, `shape ${JSON.stringify(shape)} is invalid for ${total} elements`);
  if (numel(out) > MAX_NUMEL) throw invalidValue(call, `a tensor may have at most 2^50 elements, shape ${JSON.stringify(out)} has ${numel(out)}`);
  return out;
}

/** The broadcast shape of `shapes` (numpy rules), or an error naming `call`. */
export function broadcastShapes(call: string, ...shapes: Shape[]): number[] {
  let rank = 0;
  for (const s of shapes) if (s.length > rank) rank = s.length;
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const at = rank - s.length + i;
      const d = s[i]!;
      if (out[at] === 1) out[at] = d;
      else if (d !== 1 && d !== out[at]) {
        throw invalidValue(call, `shapes ${shapes.map((x) => JSON.stringify(x)).join(' and ')} cannot be broadcast together (dimension ${at}: ${out[at]} vs ${d})`);
      }
    }
  }
  return out;
}

/** Strides that view a tensor of `shape`/`strides` as broadcast to `target` (stride 0 where it repeats). */
export function expandStrides(call: string, shape: Shape, strides: readonly number[], target: Shape): number[] {
  if (target.length < shape.length) throw invalidValue(call, `cannot expand shape ${JSON.stringify(shape)} to fewer dimensions ${JSON.stringify(target)}`);
  const out = new Array<number>(target.length).fill(0);
  for (let i = 0; i < target.length; i++) {
    const j = i - (target.length - shape.length);
    if (j < 0) continue;
    if (shape[j] === target[i]) out[i] = strides[j]!;
    else if (shape[j] !== 1) throw invalidValue(call, `cannot expand dimension ${j} of size ${shape[j]} to ${target[i]}`);
  }
  return out;
}

/**
 * Strides for viewing `shape`/`strides` as `newShape` without copying (PyTorch's
 * computeStride), or undefined when the layout does not allow it (then reshape copies).
 */
export function viewStrides(shape: Shape, strides: readonly number[], newShape: Shape): number[] | undefined {
  // No elements, or a scalar: any layout is a view.
  if (numel(shape) === 0 || shape.length === 0) return contiguousStrides(newShape);
  const out = new Array<number>(newShape.length);
  let viewD = newShape.length - 1;
  // Chunks of dimensions that are contiguous among themselves map onto the new shape.
  let chunkBase = strides[strides.length - 1] ?? 1;
  let tensorNumel = 1;
  let viewNumel = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    tensorNumel *= shape[d]!;
    if (d === 0 || (shape[d - 1] !== 1 && strides[d - 1] !== tensorNumel * chunkBase)) {
      while (viewD >= 0 && (viewNumel < tensorNumel || newShape[viewD] === 1)) {
        out[viewD] = viewNumel * chunkBase;
        viewNumel *= newShape[viewD]!;
        viewD--;
      }
      if (viewNumel !== tensorNumel) return undefined;
      if (d > 0) {
        chunkBase = strides[d - 1]!;
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  return viewD === -1 ? out : undefined;
}

/** Normalizes a dimension index (negative counts from the end) for a tensor of `rank`. */
export function checkDim(call: string, dim: unknown, rank: number): number {
  const r = Math.max(rank, 1);
  if (typeof dim !== 'number' || !Number.isInteger(dim) || dim < -r || dim >= r) {
    throw invalidValue(call, `dim must be an integer in [${-r}, ${r - 1}]`, dim);
  }
  return dim < 0 ? dim + r : dim;
}

/**
 * Refuses to write into `shape`/`strides` when two of its elements share memory (an expanded
 * dimension: stride 0, size > 1), as PyTorch's assert_no_internal_overlap does.
 */
export function checkNoInternalOverlap(call: string, shape: Shape, strides: readonly number[]): void {
  for (let i = 0; i < shape.length; i++) {
    if (strides[i] === 0 && shape[i]! > 1) {
      throw invalidValue(
        call,
        'unsupported operation: more than one element of the written-to tensor refers to a single memory location; clone() the tensor before performing the operation',
      );
    }
  }
}

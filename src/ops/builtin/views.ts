import { invalidValue } from '../../errors/errors.js';
import { broadcastShapes, checkDim, checkRank, checkShape, contiguousStrides, expandStrides, viewStrides } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import type { Executor } from '../executor.js';
import { defineBuiltin } from '../register.js';
import { UnaryOp, launchUnary } from './launch.js';

/** Views: new shape, strides and offset over the same storage; no kernel runs. */

function intList(call: string, name: string, value: unknown): number[] {
  if (!Array.isArray(value) || !value.every((v) => Number.isInteger(v))) throw invalidValue(call, `${name} must be an array of integers`, value);
  return value as number[];
}

export function view(call: string, self: Tensor, shape: unknown): Tensor {
  const size = checkShape(call, shape, self.numel());
  const strides = viewStrides(self.shape, self.strides, size);
  if (strides === undefined) {
    throw invalidValue(call, `view size ${JSON.stringify(size)} is not compatible with the input's size and stride (at least one dimension spans two contiguous subspaces); use reshape()`);
  }
  return self.viewAs(size, strides, self.storageOffset);
}

/** A contiguous copy on the same device (or the tensor itself when it is contiguous already). */
export function contiguous(ex: Executor, self: Tensor): Tensor {
  if (self.isContiguous()) return self.viewAs(self.shape, self.strides, self.storageOffset);
  return cloneOn(ex, self);
}

export function cloneOn(ex: Executor, self: Tensor): Tensor {
  const out = ex.empty(self.dtype, self.shape);
  launchUnary('clone', ex, UnaryOp.identity, out, self);
  return out;
}

export function transpose(call: string, self: Tensor, dim0: unknown, dim1: unknown): Tensor {
  if (self.ndim === 0) return self.viewAs([], [], self.storageOffset);
  const a = checkDim(call, dim0, self.ndim);
  const b = checkDim(call, dim1, self.ndim);
  const shape = [...self.shape];
  const strides = [...self.strides];
  [shape[a], shape[b]] = [shape[b]!, shape[a]!];
  [strides[a], strides[b]] = [strides[b]!, strides[a]!];
  return self.viewAs(shape, strides, self.storageOffset);
}

export function expand(call: string, self: Tensor, size: unknown): Tensor {
  const target = intList(call, 'size', size).map((d, i, all) => {
    const own = i - (all.length - self.ndim);
    return d === -1 && own >= 0 ? self.shape[own]! : d;
  });
  checkShape(call, target);
  return self.viewAs(target, expandStrides(call, self.shape, self.strides, target), self.storageOffset);
}

export function broadcastTo(call: string, tensors: readonly Tensor[]): number[] {
  return broadcastShapes(call, ...tensors.map((t) => t.shape));
}

export function unsqueeze(call: string, self: Tensor, dim: unknown): Tensor {
  const d = checkDim(call, dim, self.ndim + 1);
  checkRank(call, self.ndim + 1);
  const shape = [...self.shape];
  const strides = [...self.strides];
  shape.splice(d, 0, 1);
  strides.splice(d, 0, d < self.ndim ? self.shape[d]! * self.strides[d]! : 1);
  return self.viewAs(shape, strides, self.storageOffset);
}

defineBuiltin('view(Tensor(a) self, SymInt[] size) -> Tensor(a)', (_ex, self: Tensor, size: unknown) => view('view', self, size));
defineBuiltin('reshape(Tensor(a) self, SymInt[] shape) -> Tensor(a)', (ex, self: Tensor, shape: unknown) => {
  const size = checkShape('reshape', shape, self.numel());
  const strides = viewStrides(self.shape, self.strides, size);
  if (strides !== undefined) return self.viewAs(size, strides, self.storageOffset);
  const copy = cloneOn(ex, self);
  const out = copy.viewAs(size, contiguousStrides(size), 0);
  copy.dispose();
  return out;
});
defineBuiltin('transpose.int(Tensor(a) self, int dim0, int dim1) -> Tensor(a)', (_ex, self: Tensor, a: unknown, b: unknown) => transpose('transpose', self, a, b));
defineBuiltin('permute(Tensor(a) self, int[] dims) -> Tensor(a)', (_ex, self: Tensor, dims: unknown) => {
  const call = 'permute';
  const order = intList(call, 'dims', dims).map((d) => checkDim(call, d, self.ndim));
  if (order.length !== self.ndim || new Set(order).size !== order.length) throw invalidValue(call, `dims must be a permutation of the ${self.ndim} dimensions`, dims);
  return self.viewAs(
    order.map((d) => self.shape[d]!),
    order.map((d) => self.strides[d]!),
    self.storageOffset,
  );
});
defineBuiltin('slice.Tensor(Tensor(a) self, int dim=0, SymInt? start=None, SymInt? end=None, SymInt step=1) -> Tensor(a)', (_ex, self: Tensor, dim: unknown, start: unknown, end: unknown, step: unknown) => {
  const call = 'slice';
  const d = checkDim(call, dim === undefined ? 0 : dim, self.ndim);
  const size = self.shape[d]!;
  const s = step === undefined ? 1 : step;
  if (typeof s !== 'number' || !Number.isInteger(s) || s < 1) throw invalidValue(call, 'step must be a positive integer', step);
  const clamp = (v: unknown, fallback: number, name: string): number => {
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v)) throw invalidValue(call, `${name} must be an integer`, v);
    return Math.min(Math.max(v < 0 ? v + size : v, 0), size);
  };
  const from = clamp(start, 0, 'start');
  const to = Math.max(clamp(end, size, 'end'), from);
  const shape = [...self.shape];
  const strides = [...self.strides];
  shape[d] = Math.ceil((to - from) / s);
  strides[d] = self.strides[d]! * s;
  return self.viewAs(shape, strides, self.storageOffset + from * self.strides[d]!);
});
defineBuiltin('select.int(Tensor(a) self, int dim, SymInt index) -> Tensor(a)', (_ex, self: Tensor, dim: unknown, index: unknown) => {
  const call = 'select';
  if (self.ndim === 0) throw invalidValue(call, 'select() cannot be applied to a 0-dim tensor');
  const d = checkDim(call, dim, self.ndim);
  const size = self.shape[d]!;
  if (typeof index !== 'number' || !Number.isInteger(index) || index < -size || index >= size) throw invalidValue(call, `index must be an integer in [${-size}, ${size - 1}]`, index);
  const i = index < 0 ? index + size : index;
  return self.viewAs(
    self.shape.filter((_, k) => k !== d),
    self.strides.filter((_, k) => k !== d),
    self.storageOffset + i * self.strides[d]!,
  );
});
defineBuiltin('expand(Tensor(a) self, SymInt[] size) -> Tensor(a)', (_ex, self: Tensor, size: unknown) => expand('expand', self, size));
defineBuiltin('as_strided(Tensor(a) self, SymInt[] size, SymInt[] stride, SymInt? storage_offset=None) -> Tensor(a)', (_ex, self: Tensor, size: unknown, stride: unknown, offset: unknown) => {
  const call = 'asStrided';
  const shape = checkShape(call, size);
  const strides = intList(call, 'stride', stride);
  if (strides.length !== shape.length || strides.some((s) => s < 0)) throw invalidValue(call, `stride must be ${shape.length} non-negative integers`, stride);
  const start = offset === undefined ? self.storageOffset : offset;
  if (typeof start !== 'number' || !Number.isInteger(start) || start < 0) throw invalidValue(call, 'storageOffset must be a non-negative integer', offset);
  const last = shape.some((n) => n === 0) ? start : start + shape.reduce((acc, n, i) => acc + (n - 1) * strides[i]!, 0);
  const capacity = self.storage(call).nbytes / self.itemsize;
  if (shape.every((n) => n > 0) && last >= capacity) throw invalidValue(call, `the view reaches element ${last} of a storage of ${capacity} elements`);
  return self.viewAs(shape, strides, start);
});
defineBuiltin('unsqueeze(Tensor(a) self, int dim) -> Tensor(a)', (_ex, self: Tensor, dim: unknown) => unsqueeze('unsqueeze', self, dim));
defineBuiltin('squeeze(Tensor(a) self) -> Tensor(a)', (_ex, self: Tensor) =>
  self.viewAs(
    self.shape.filter((n) => n !== 1),
    self.strides.filter((_, i) => self.shape[i] !== 1),
    self.storageOffset,
  ),
);
defineBuiltin('squeeze.dim(Tensor(a) self, int dim) -> Tensor(a)', (_ex, self: Tensor, dim: unknown) => {
  const d = checkDim('squeeze', dim, self.ndim);
  if (self.ndim === 0 || self.shape[d] !== 1) return self.viewAs(self.shape, self.strides, self.storageOffset);
  return self.viewAs(
    self.shape.filter((_, i) => i !== d),
    self.strides.filter((_, i) => i !== d),
    self.storageOffset,
  );
});
defineBuiltin('contiguous(Tensor(a) self) -> Tensor(a)', (ex, self: Tensor) => contiguous(ex, self));
defineBuiltin('clone(Tensor self) -> Tensor', (ex, self: Tensor) => cloneOn(ex, self));

import { invalidValue } from '../../errors/errors.js';
import { type DeviceLike, currentRuntime, resolveDevice } from '../../tensor/device.js';
import { type DType, checkFits, isDType } from '../../tensor/dtype.js';
import { checkNoInternalOverlap, expandStrides } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import { cpuStorage, executorFor } from '../host-executors.js';
import { defineBuiltin, executorOf } from '../register.js';
import { UnaryOp, launchFill, launchUnary } from './launch.js';

/** Copies within and across devices, dtype conversions, and reading values back to the host. */

/** `t` itself when it is contiguous with `dtype`; else a converted contiguous copy on its device. */
export function staged(call: string, t: Tensor, dtype: DType): Tensor {
  if (t.isContiguous() && t.dtype === dtype) return t;
  const exec = executorOf(call, [t]);
  const out = exec.empty(dtype, t.shape);
  launchUnary(call, exec, UnaryOp.identity, out, t);
  return out;
}


/**
 * Moves the bytes of contiguous `src` into contiguous `dst` (same dtype and size) on another
 * device, in stream order, through the backend interface: a peer copy between devices of one
 * backend, else the device side's copy to or from host memory.
 */
function moveBytes(call: string, dst: Tensor, src: Tensor, nonBlocking: boolean): void {
  if (dst.numel() === 0) return;
  if (src.onDevice && dst.onDevice) executorOf(call, [src]).peerCopy(call, dst, src);
  else if (src.onDevice) executorOf(call, [src]).copyToHost(call, dst, src);
  else executorOf(call, [dst]).copyFromHost(call, dst, src, nonBlocking);
}

/** dst ← src, broadcast and converted to dst's dtype; across cpu and openreg devices. */
/** `nonBlocking`: a host-to-device copy may still be queued when this returns (else it is done, as PyTorch's blocking copy). */
export function copyInto(call: string, dst: Tensor, src: Tensor, nonBlocking = false): Tensor {
  if (!(src instanceof Tensor)) throw invalidValue(call, 'src must be a Tensor', src);
  expandStrides(call, src.shape, src.strides, dst.shape);
  checkNoInternalOverlap(call, dst.shape, dst.strides);
  if (dst.meta) return dst;
  if (src.meta) throw invalidValue(call, 'cannot copy out of a meta tensor: it has no data');
  const source = src.shape.length === dst.shape.length && src.shape.every((n, i) => n === dst.shape[i]) ? src : src.expand(...dst.shape);
  const temps: Tensor[] = [];
  try {
    if (source !== src) temps.push(source);
    // Same device, or both in host memory (cpu and a host-memory backend): one kernel does it.
    if (source.device.equals(dst.device) || (!source.onDevice && !dst.onDevice)) {
      launchUnary(call, executorOf(call, [dst]), UnaryOp.identity, dst, source);
      return dst;
    }
    const from = staged(call, source, dst.dtype);
    if (from !== source) temps.push(from);
    const target = dst.isContiguous() ? dst : executorOf(call, [dst]).empty(dst.dtype, dst.shape);
    if (target !== dst) temps.push(target);
    moveBytes(call, target, from, nonBlocking);
    if (target !== dst) launchUnary(call, executorOf(call, [dst]), UnaryOp.identity, dst, target);
    return dst;
  } finally {
    for (const t of temps) t.dispose();
  }
}

/** `self` on `device` with `dtype` (itself when neither changes and no copy is asked for). */
export function to(call: string, self: Tensor, device: DeviceLike | undefined, dtype: unknown, copy: boolean, nonBlocking = false): Tensor {
  const target = device === undefined ? self.device : resolveDevice(call, device);
  if (dtype !== undefined && !isDType(dtype)) throw invalidValue(call, 'dtype must be a dtype name such as float32', dtype);
  const type = (dtype as DType | undefined) ?? self.dtype;
  if (!copy && target.equals(self.device) && type === self.dtype) return self;
  const out = executorFor(call, target).empty(type, self.shape);
  return copyInto(call, out, self, nonBlocking);
}

defineBuiltin('copy_(Tensor(a!) self, Tensor src, bool non_blocking=False) -> Tensor(a!)', (_ex, self: Tensor, src: Tensor, nonBlocking: boolean) => copyInto('copy_', self, src, nonBlocking));
defineBuiltin('fill_.Scalar(Tensor(a!) self, Scalar value) -> Tensor(a!)', (ex, self: Tensor, value: unknown) => {
  if (typeof value !== 'number' && typeof value !== 'boolean') throw invalidValue('fill_', 'value must be a number or a boolean', value);
  checkNoInternalOverlap('fill_', self.shape, self.strides);
  checkFits('fill_', self.dtype, value, true);
  launchFill(ex, self, Number(value));
  return self;
});
defineBuiltin('openreg::to(Tensor self, Device? device=None, ScalarType? dtype=None, bool copy=False, bool non_blocking=False) -> Tensor', (_ex, self: Tensor, device: DeviceLike | undefined, dtype: unknown, copy: boolean, nonBlocking: boolean) =>
  to('to', self, device, dtype, copy, nonBlocking),
);

defineBuiltin('openreg::pin_memory(Tensor self) -> Tensor', (_ex, self: Tensor) => pinMemory('pinMemory', self), ['cpu']);

/** A copy of a cpu tensor in a block of the caching host allocator, returned to it when the storage is freed. */
function pinMemory(call: string, self: Tensor): Tensor {
  if (self.isPinned()) return self;
  const rt = currentRuntime(call);
  const n = self.numel() * self.itemsize;
  const block = n === 0 ? undefined : rt.hostAllocator.allocate(n);
  const storage = cpuStorage(n, block, block === undefined ? undefined : () => rt.hostAllocator.free(block));
  const out = Tensor.over(storage, self.dtype, self.shape);
  if (n > 0) launchUnary(call, executorFor(call, self.device), UnaryOp.identity, out, self);
  return out;
}

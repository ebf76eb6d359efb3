import type { Runtime } from '../../api/runtime.js';
import { HostStepReceipt } from '../../api/work-receipt.js';
import { invalidHandle, invalidValue } from '../../errors/errors.js';
import { MemcpyKind } from '../../memory/memcpy-kind.js';
import type { Stream } from '../../runtime/handles.js';
import { type DeviceLike, currentRuntime, resolveDevice } from '../../tensor/device.js';
import { type DType, checkFits, isDType } from '../../tensor/dtype.js';
import { checkNoInternalOverlap, expandStrides } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import { busyUntil, cpuStorage, executorFor, hostBytes } from '../executor.js';
import { defineBuiltin, executorOf } from '../register.js';
import { UnaryOp, launchFill, launchUnary } from './launch.js';

/** Copies within and across devices, dtype conversions, and reading values back to the host. */

/** The runtime of a device tensor whose memory is still there (a deviceReset frees it all). */
function runtimeOf(t: Tensor, call: string): Runtime {
  const s = t.storage(call);
  if (s.block !== undefined && !s.runtime!.cachingAllocator.isLive(s.block)) throw invalidHandle(call, `${t} was freed by deviceReset(${s.block.device})`);
  return s.runtime!;
}

function streamOf(t: Tensor, call: string): Stream {
  return runtimeOf(t, call).getCurrentStream(t.device.index!);
}

/** `t` itself when it is contiguous with `dtype`; else a converted contiguous copy on its device. */
export function staged(call: string, t: Tensor, dtype: DType): Tensor {
  if (t.isContiguous() && t.dtype === dtype) return t;
  const exec = executorOf(call, [t]);
  const out = exec.empty(dtype, t.shape);
  launchUnary(call, exec, UnaryOp.identity, out, t);
  return out;
}


/** Moves the bytes of contiguous `src` into contiguous `dst` (same dtype and size) on another device, in stream order. */
function moveBytes(call: string, dst: Tensor, src: Tensor): void {
  const n = dst.numel() * dst.itemsize;
  if (n === 0) return;
  if (src.onDevice && dst.onDevice) {
    const rt = runtimeOf(src, call);
    if (runtimeOf(dst, call) !== rt) throw invalidValue(call, 'the tensors belong to different runtimes');
    const from = streamOf(src, call);
    const to = streamOf(dst, call);
    // As PyTorch's copy_ does across devices: each stream waits for the other's earlier work.
    rt.streamWaitStream(from, to);
    rt.memcpyAsync(dst.dataPtr(), src.dataPtr(), n, MemcpyKind.deviceToDevice, from);
    rt.streamWaitStream(to, from);
    // If the source device fails before the copy runs, its stream skips it: reads of dst must reject, not see old bytes.
    const storage = dst.storage(call);
    storage.dependOn([rt.workReceipt(call, from)]);
    storage.dependOn(src.storage(call).receipts);
    return;
  }
  if (src.onDevice) {
    const rt = runtimeOf(src, call);
    const stream = streamOf(src, call);
    const pinned = rt.hostAllocator.allocate(n);
    rt.memcpyAsync(pinned, src.dataPtr(), n, MemcpyKind.deviceToHost, stream);
    const storage = dst.storage(call);
    const before = storage.busy;
    const target = hostBytes(dst, call);
    rt.launchHostFunc(stream, async function copyToCpuTensor() {
      await before;
      target.set(pinned);
    });
    // Settles when the stream passes the host function, or with the device's error if it never runs.
    const source = src.storage(call);
    busyUntil(
      storage,
      rt
        .streamSynchronize(stream)
        .then(() => source.settleReceipts())
        .then(() => source.checkReceipts(call))
        .catch((error: unknown) => {
          storage.failure = error;
        }),
    );
    rt.hostAllocator.free(pinned);
    return;
  }
  const rt = runtimeOf(dst, call);
  const stream = streamOf(dst, call);
  const storage = src.storage(call);
  const bytes = hostBytes(src, call);
  if (storage.pinned !== undefined && storage.busy === undefined && storage.failure === undefined) {
    // Already pinned and computed: the device reads it directly, in stream order.
    rt.hostAllocator.recordStream(storage.pinned, stream);
    rt.memcpyAsync(dst.dataPtr(), bytes, n, MemcpyKind.hostToDevice, stream);
    return;
  }
  const pinned = rt.hostAllocator.allocate(n);
  if (storage.busy === undefined && storage.failure === undefined) {
    pinned.set(bytes);
  } else {
    // The values are still being computed on the CPU pool: the stream waits for them.
    // If that work fails, the copy's destination carries the failure: this device stays healthy.
    const pending = storage.busy;
    const step = new HostStepReceipt();
    rt.launchHostFunc(stream, async function copyFromCpuTensor() {
      await pending;
      if (storage.failure !== undefined) return step.failed(storage.failure);
      pinned.set(bytes);
      step.succeeded();
    });
    dst.storage(call).dependOn([step]);
  }
  rt.memcpyAsync(dst.dataPtr(), pinned, n, MemcpyKind.hostToDevice, stream);
  rt.hostAllocator.free(pinned);
}

/** dst ← src, broadcast and converted to dst's dtype; across cpu and openreg devices. */
export function copyInto(call: string, dst: Tensor, src: Tensor): Tensor {
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
    moveBytes(call, target, from);
    if (target !== dst) launchUnary(call, executorOf(call, [dst]), UnaryOp.identity, dst, target);
    return dst;
  } finally {
    for (const t of temps) t.dispose();
  }
}

/** `self` on `device` with `dtype` (itself when neither changes and no copy is asked for). */
export function to(call: string, self: Tensor, device: DeviceLike | undefined, dtype: unknown, copy: boolean): Tensor {
  const target = device === undefined ? self.device : resolveDevice(call, device);
  if (dtype !== undefined && !isDType(dtype)) throw invalidValue(call, 'dtype must be a dtype name such as float32', dtype);
  const type = (dtype as DType | undefined) ?? self.dtype;
  if (!copy && target.equals(self.device) && type === self.dtype) return self;
  const out = executorFor(call, target).empty(type, self.shape);
  return copyInto(call, out, self);
}

defineBuiltin('copy_(Tensor(a!) self, Tensor src, bool non_blocking=False) -> Tensor(a!)', (_ex, self: Tensor, src: Tensor) => copyInto('copy_', self, src));
defineBuiltin('fill_.Scalar(Tensor(a!) self, Scalar value) -> Tensor(a!)', (ex, self: Tensor, value: unknown) => {
  if (typeof value !== 'number' && typeof value !== 'boolean') throw invalidValue('fill_', 'value must be a number or a boolean', value);
  checkNoInternalOverlap('fill_', self.shape, self.strides);
  checkFits('fill_', self.dtype, value, true);
  launchFill(ex, self, Number(value));
  return self;
});
defineBuiltin('openreg::to(Tensor self, Device? device=None, ScalarType? dtype=None, bool copy=False) -> Tensor', (_ex, self: Tensor, device: DeviceLike | undefined, dtype: unknown, copy: boolean) =>
  to('to', self, device, dtype, copy),
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

import type { OperatorSchema } from '../dispatch/schema.js';
import { dispatcher } from '../dispatch/registry.js';
import { MemcpyKind } from '../memory/memcpy-kind.js';
import { Tensor, tensorsIn } from '../tensor/tensor.js';
import { DeviceExecutor, carryReceipts, cpuStorage } from './executor.js';
import { copyInto, staged } from './builtin/copies.js';

function bytesOf(t: Tensor): number {
  return t.numel() * t.itemsize;
}

/**
 * Runs an openreg op on the CPU (PyTorch's `cpu_fallback`), in the device's stream order:
 * the device inputs are copied to pinned host memory; a host function on the stream lets the
 * CPU kernels (on the piscina pool) start and parks the stream until they finish and their
 * results are in pinned memory; copies back to the device follow on the same stream. The
 * call returns at once with device tensors, as a native kernel would. Arguments the op
 * writes (`Tensor(a!)`) are written back into the original device tensors.
 */
export function cpuFallback(schema: OperatorSchema, args: readonly unknown[]): unknown {
  const call = schema.qualifiedName;
  const first = tensorsIn(args).find((t) => t.onDevice)!;
  const rt = first.storage(call).runtime!;
  const ex = new DeviceExecutor(rt, first.device);
  const stream = ex.stream;
  let release!: () => void;
  const inputsReady = new Promise<void>((resolve) => (release = resolve));
  /** Each device input's cpu twin, over its pinned staging block. */
  const twins = new Map<Tensor, Tensor>();
  const pinnedBlocks: Uint8Array[] = [];
  const temps: Tensor[] = [];

  const toHost = (t: Tensor): Tensor => {
    const known = twins.get(t);
    if (known !== undefined) return known;
    const c = staged(call, t, t.dtype);
    if (c !== t) temps.push(c);
    const n = bytesOf(c);
    const pinned = n === 0 ? undefined : rt.hostAllocator.allocate(n);
    if (pinned !== undefined) {
      pinnedBlocks.push(pinned);
      rt.memcpyAsync(pinned, c.dataPtr(), n, MemcpyKind.deviceToHost, stream);
    }
    const storage = cpuStorage(n, pinned);
    storage.busy = inputsReady;
    const host = Tensor.over(storage, t.dtype, t.shape);
    twins.set(t, host);
    return host;
  };
  const mapArg = (a: unknown): unknown => {
    if (a instanceof Tensor && a.onDevice) return toHost(a);
    if (Array.isArray(a)) return a.map(mapArg);
    return a;
  };

  let result: unknown;
  try {
    const hostArgs = args.map(mapArg);
    result = dispatcher.call(call, call, ['cpu'], hostArgs);
  } catch (error) {
    release();
    for (const p of pinnedBlocks) rt.hostAllocator.free(p);
    for (const t of temps) t.dispose();
    throw error;
  }

  // Results and written arguments come back to the device after the CPU work.
  const written = schema.args.flatMap((a, i) => (a.alias?.write === true && args[i] instanceof Tensor ? [args[i] as Tensor] : []));
  const returns = new Map<Tensor, Tensor>();
  const back: { host: Tensor; device: Tensor; pinned: Uint8Array | undefined; into: Tensor | undefined }[] = [];
  const bringBack = (host: Tensor, into: Tensor | undefined): Tensor => {
    const device = into !== undefined && into.isContiguous() ? into : ex.empty(host.dtype, host.shape);
    const n = bytesOf(host);
    const pinned = n === 0 ? undefined : rt.hostAllocator.allocate(n);
    if (pinned !== undefined) pinnedBlocks.push(pinned);
    back.push({ host, device, pinned, into: device === into ? undefined : into });
    return device;
  };
  for (const w of written) returns.set(twins.get(w)!, w);
  for (const w of written) bringBack(twins.get(w)!, w);
  const mapResult = (r: unknown): unknown => {
    if (r instanceof Tensor) return returns.get(r) ?? bringBack(r.isContiguous() ? r : (dispatcher.call(call, 'contiguous', ['cpu'], [r]) as Tensor), undefined);
    if (Array.isArray(r)) return r.map(mapResult);
    return r;
  };
  const mapped = mapResult(result);

  const hostResults = back.map((b) => b.host);
  rt.launchHostFunc(stream, async function cpuFallbackKernel() {
    release();
    for (const h of hostResults) {
      const s = h.storage(call);
      while (s.busy !== undefined) await s.busy;
      if (s.failure !== undefined) throw s.failure;
    }
    for (const b of back) {
      if (b.pinned === undefined) continue;
      const s = b.host.storage(call);
      b.pinned.set(new Uint8Array(s.buffer!, s.byteOffset + b.host.storageOffset * b.host.itemsize, b.pinned.byteLength));
    }
  });
  // A device error skips the host function: the CPU side then learns of it and stands down.
  rt.streamSynchronize(stream).catch((error: unknown) => {
    for (const host of twins.values()) host.storage(call).failure = error;
    release();
  });
  // Values computed from bytes another device sent depend on that device's work, as a native kernel's would.
  carryReceipts(call, [...twins.keys()], back.map((b) => b.device));
  for (const b of back) {
    if (b.pinned !== undefined) rt.memcpyAsync(b.device.dataPtr(), b.pinned, b.pinned.byteLength, MemcpyKind.hostToDevice, stream);
    if (b.into !== undefined) {
      copyInto(call, b.into, b.device);
      b.device.dispose();
    }
  }
  for (const p of pinnedBlocks) rt.hostAllocator.free(p);
  for (const t of temps) t.dispose();
  return mapped;
}

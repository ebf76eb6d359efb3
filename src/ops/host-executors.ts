import { formatMessage, invalidValue, openRegError } from '../errors/errors.js';
import type { WaitOptions } from '../runtime/wait-options.js';
import { ErrorCode } from '../errors/error-code.js';
import { OpenRegError } from '../errors/openreg-error.js';
import { HOST_SLOT_SCALE } from '../protocol/tensor-abi.js';
import { TensorKernel } from '../protocol/tensor-kernel-signatures.js';
import { encodeInto } from '../tensor/host-data.js';
import { type KernelSignature, type LaunchArgs, type Params, encodeArguments, forEachOperand } from '../protocol/kernel-abi.js';
import { TensorDevice } from '../tensor/device.js';
import { deviceTypeHooks } from '../tensor/device-types.js';
import { DTYPES, type DType } from '../tensor/dtype.js';
import { type Shape, numel } from '../tensor/shape.js';
import { Storage } from '../tensor/storage.js';
import { Tensor } from '../tensor/tensor.js';
import type { Generator } from '../integration/random/generator.js';
import { runCpuKernel } from './cpu-pool.js';
import { fillHostRandom } from './host-random.js';
import { type Executor, type KernelOperand, WORDS, busyUntil, hostBytes, noData, operandLayout, settled, tensorOf } from './executor.js';

/** The executors of host memory: the CPU pool (`cpu`, and a host-memory backend's devices) and meta; and the executor of any device. */

const CPU = new TensorDevice('cpu', undefined);

/**
 * Kernels on the CPU pool, for `cpu` tensors (and a host-memory backend's devices). An op
 * returns at once; its task starts when the earlier tasks on the storages it touches are
 * done, so CPU ops keep program order per storage as a stream would, while independent ones
 * run in parallel on the pool's threads.
 */
export class CpuExecutor implements Executor {
  readonly device: TensorDevice;

  constructor(device: TensorDevice = CPU) {
    this.device = device;
  }

  empty(dtype: DType, shape: Shape): Tensor {
    return Tensor.over(cpuStorage(numel(shape) * DTYPES[dtype].itemsize, undefined, undefined, this.device), dtype, shape);
  }

  fillRandom(out: Tensor, normal: boolean, generator: Generator | undefined): void {
    fillHostRandom(out, normal, generator);
  }

  async readBytes(call: string, t: Tensor, options: WaitOptions | undefined, into?: Uint8Array): Promise<Uint8Array> {
    await settled(call, t, options);
    // A copy: the storage stays the tensor's.
    if (into === undefined) return hostBytes(t, call).slice();
    into.set(hostBytes(t, call));
    return into;
  }

  writeBytes(call: string, t: Tensor, bytes: Uint8Array): void {
    const s = t.storage(call);
    if (s.busy === undefined) {
      hostBytes(t, call).set(bytes);
      return;
    }
    // Pending pool work on t goes first; the bytes are copied now, so the caller may reuse them.
    const copy = bytes.slice();
    busyUntil(s, s.busy.then(() => hostBytes(t, call).set(copy)));
  }

  readBytesSync(call: string, t: Tensor, into: Uint8Array | undefined): Uint8Array {
    const s = t.storage(call);
    if (s.busy !== undefined) throw openRegError('cpuWorkPending', { call, tensor: t.toString() });
    if (s.failure !== undefined) throw s.failure;
    const bytes = hostBytes(t, call);
    // A copy: the storage stays the tensor's.
    if (into === undefined) return bytes.slice();
    into.set(bytes);
    return into;
  }

  ready(call: string, t: Tensor, options: WaitOptions | undefined): Promise<void> {
    return settled(call, t, options);
  }

  copyToHost(call: string, dst: Tensor, src: Tensor): void {
    moveHostBytes(call, dst, src);
  }

  copyFromHost(call: string, dst: Tensor, src: Tensor): void {
    moveHostBytes(call, dst, src);
  }

  peerCopy(call: string, dst: Tensor, src: Tensor): void {
    moveHostBytes(call, dst, src);
  }

  async readChunks(call: string, t: Tensor, sink: (chunk: Uint8Array) => Promise<void>): Promise<void> {
    if (t.numel() === 0) return;
    await settled(call, t, undefined);
    await sink(hostBytes(t, call));
  }

  async writeChunks(call: string, t: Tensor, read: (into: Uint8Array, byteOffset: number) => Promise<void>): Promise<void> {
    if (t.numel() === 0) return;
    // Pending pool work on t runs first: the bytes read land after it.
    const s = t.storage(call);
    while (s.busy !== undefined) await s.busy.catch(() => undefined);
    await read(hostBytes(t, call), 0);
  }

  launch<P extends Params>(kernel: KernelSignature<P>, args: LaunchArgs<P, KernelOperand>): void {
    const call = kernel.name;
    // A fill of a whole fresh tensor is a memset: done here at once, so its values exist when the factory returns (PyTorch's CPU factories are synchronous).
    if ((kernel as KernelSignature) === TensorKernel.fill && fillNow(call, args as unknown as LaunchArgs<FillParams, KernelOperand>)) return;
    const storages: Storage[] = [];
    const inputs: Storage[] = [];
    const outputs: Storage[] = [];
    forEachOperand(kernel, args, (o, access) => {
      const t = tensorOf(o);
      const s = t.storage(call);
      if (s.buffer === undefined) throw invalidValue(call, `expected all tensors in host memory, got one on ${t.device}`, t.toString());
      if (!storages.includes(s)) storages.push(s);
      (access === 'read' ? inputs : outputs).push(s);
    });
    const layout = operandLayout((t) => {
      const s = t.storage(call);
      return storages.indexOf(s) * HOST_SLOT_SCALE + s.byteOffset + t.storageOffset * t.itemsize;
    });
    encodeArguments(kernel, args, layout, WORDS);
    const words = WORDS.data.slice(0, WORDS.length);
    const before = storages.flatMap((s) => s.busy ?? []);
    const task = Promise.all(before)
      .then(() => {
        const failed = inputs.find((s) => s.failure !== undefined);
        if (failed !== undefined) throw failed.failure;
        return runCpuKernel(call, words, storages.map((s) => s.buffer!));
      })
      .then(
        () => undefined,
        (error: unknown) => {
          // A failed input's error passes on as it is; the kernel's own is coded, as a device's would be.
          const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
          const failure = error instanceof OpenRegError ? error : new OpenRegError(ErrorCode.LAUNCH_FAILURE, formatMessage('cpuKernelThrew', { call, kernel: call, error: reason }), { cause: error });
          for (const s of outputs) s.failure = failure;
        },
      );
    for (const s of storages) busyUntil(s, task);
  }
}

/** Shapes and dtypes only: no memory, no kernels (the `meta` device). */
export class MetaExecutor implements Executor {
  readonly device = new TensorDevice('meta', undefined);

  empty(dtype: DType, shape: Shape): Tensor {
    return Tensor.over(new Storage(this.device, numel(shape) * DTYPES[dtype].itemsize, {}), dtype, shape);
  }

  launch(): void {}

  fillRandom(): void {}

  readBytes(call: string, t: Tensor): Promise<Uint8Array> {
    return Promise.reject(invalidValue(call, 'a meta tensor has no data', t.toString()));
  }

  writeBytes(): void {}

  readBytesSync(call: string, t: Tensor): Uint8Array {
    return noData(call, t);
  }

  async ready(): Promise<void> {}

  copyToHost(call: string, _dst: Tensor, src: Tensor): void {
    noData(call, src);
  }

  copyFromHost(call: string, dst: Tensor): void {
    noData(call, dst);
  }

  peerCopy(call: string, _dst: Tensor, src: Tensor): void {
    noData(call, src);
  }

  readChunks(call: string, t: Tensor): Promise<void> {
    return Promise.reject(invalidValue(call, 'a meta tensor has no data', t.toString()));
  }

  async writeChunks(): Promise<void> {}
}

type FillParams = (typeof TensorKernel.fill)['params'];

/** Fills `out` on this thread when it is a whole, contiguous, idle host tensor; false otherwise (the pool does it). */
function fillNow(call: string, { out, value }: LaunchArgs<FillParams, KernelOperand>): boolean {
  if (!(out instanceof Tensor) || !out.isContiguous()) return false;
  const s = out.storage(call);
  if (s.busy !== undefined || s.failure !== undefined || s.buffer === undefined) return false;
  const info = DTYPES[out.dtype];
  const element = new Uint8Array(info.itemsize);
  encodeInto(call, out.dtype, [value], element);
  const one = new info.storage(element.buffer, 0, 1) as unknown as { 0: number | bigint };
  const view = new info.storage(s.buffer, s.byteOffset + out.storageOffset * info.itemsize, out.numel()) as unknown as { fill(v: number | bigint): unknown };
  view.fill(one[0]);
  return true;
}

/** Host memory to host memory (both contiguous, same size), after the work pending on either: what a CPU-pool backend's copies are. */
function moveHostBytes(call: string, dst: Tensor, src: Tensor): void {
  if (dst.numel() * dst.itemsize !== src.numel() * src.itemsize) throw invalidValue(call, `cannot move ${src.numel() * src.itemsize} bytes into ${dst.numel() * dst.itemsize}`, dst.toString());
  if (dst.numel() === 0) return;
  const from = src.storage(call);
  const to = dst.storage(call);
  const task = Promise.all([from.busy, to.busy]).then(() => {
    if (from.failure !== undefined) to.failure = from.failure;
    else hostBytes(dst, call).set(hostBytes(src, call));
  });
  // Both wait: a later write to the source must not overtake the read.
  busyUntil(to, task);
  if (from !== to) busyUntil(from, task);
}

/** Host memory a pool thread can address: a SharedArrayBuffer of its own, or a pinned block (`view`). */
export function cpuStorage(nbytes: number, view?: Uint8Array, onFree?: () => void, device: TensorDevice = CPU, call = 'empty'): Storage {
  if (view !== undefined) return new Storage(device, nbytes, { buffer: view.buffer as SharedArrayBuffer, byteOffset: view.byteOffset, pinned: view, onFree });
  let buffer: SharedArrayBuffer;
  try {
    buffer = new SharedArrayBuffer(Math.max(nbytes, 1));
  } catch (error) {
    // V8's RangeError ("Array buffer allocation failed"): the host is out of memory for it.
    throw new OpenRegError(ErrorCode.OUT_OF_MEMORY, formatMessage('outOfHostMemory', { call, bytes: nbytes, reason: error instanceof Error ? error.message : String(error) }), { cause: error });
  }
  return new Storage(device, nbytes, { buffer });
}

const cpuExecutor = new CpuExecutor();
const metaExecutor = new MetaExecutor();

/** The executor of a (resolved) device: the CPU pool, meta, or what the device type's backend provides. */
export function executorFor(call: string, device: TensorDevice): Executor {
  if (device.type === 'cpu') return cpuExecutor;
  if (device.type === 'meta') return metaExecutor;
  const hooks = deviceTypeHooks(device.type);
  if (hooks === undefined || device.index === undefined) throw invalidValue(call, 'a backend device with an index is needed', device.toString());
  return hooks.executor(device.index, device.runtime) as Executor;
}

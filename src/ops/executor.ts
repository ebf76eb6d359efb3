import { Runtime } from '../api/runtime.js';
import { formatMessage, invalidHandle, invalidValue, openRegError, runtimeClosed } from '../errors/errors.js';
import { MemcpyKind } from '../memory/memcpy-kind.js';
import { withinBounds } from '../device/host-waiter.js';
import { type WaitOptions, waitBoundsOf } from '../runtime/wait-options.js';
import { ErrorCode } from '../errors/error-code.js';
import { OpenRegError } from '../errors/openreg-error.js';
import type { Kernel } from '../runtime/kernel-module.js';
import type { Stream } from '../runtime/handles.js';
import { DTypeCode, HOST_SLOT_SCALE } from '../protocol/tensor-abi.js';
import { ArgumentWords, type KernelSignature, type LaunchArgs, type OperandLayout, type Params, accessesOf, encodeArguments, forEachOperand } from '../protocol/kernel-abi.js';
import { TensorDevice, bound } from '../tensor/device.js';
import { deviceTypeHooks } from '../tensor/device-types.js';
import { DTYPES, type DType } from '../tensor/dtype.js';
import { type Shape, numel } from '../tensor/shape.js';
import { Storage } from '../tensor/storage.js';
import { Tensor } from '../tensor/tensor.js';
import { runCpuKernel } from './cpu-pool.js';
import { fillHostRandom } from './host-random.js';
import type { Generator } from '../integration/random/generator.js';

/** A tensor's elements seen in another shape: broadcast (stride 0), permuted, or regrouped for a kernel. */
export interface TensorView {
  readonly tensor: Tensor;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
}

/** How an op passes a tensor operand to a kernel: as it is, or as a view of it. */
export type KernelOperand = Tensor | TensorView;

export function viewOf(tensor: Tensor, shape: readonly number[], strides: readonly number[]): TensorView {
  return { tensor, shape, strides };
}

function tensorOf(o: KernelOperand): Tensor {
  return o instanceof Tensor ? o : o.tensor;
}

/** The encoder's view of kernel operands, given how the executing side addresses a tensor's first element. */
function operandLayout(ptr: (t: Tensor) => number): OperandLayout<KernelOperand> {
  return {
    dtype: (o) => DTypeCode[tensorOf(o).dtype],
    ptr: (o) => ptr(tensorOf(o)),
    shape: (o) => o.shape,
    strides: (o) => o.strides,
  };
}

/** Argument words of the launch being encoded (launches are synchronous on the main thread). */
const WORDS = new ArgumentWords();

/**
 * Where an op's kernels run: one openreg device (its current stream), the CPU pool, or
 * nowhere (meta). Ops allocate their outputs and launch tensor kernels through it.
 */
export interface Executor {
  readonly device: TensorDevice;
  /** A new contiguous tensor on this executor's device. */
  empty(dtype: DType, shape: Shape): Tensor;
  /** Runs `kernel` on `args` (named by its signature); what it reads and writes follows from the signature. */
  launch<P extends Params>(kernel: KernelSignature<P>, args: LaunchArgs<P, KernelOperand>): void;
  /** Fills contiguous float32/float64 `out` with uniform [0, 1) or standard normal draws from `generator` (the device's by default). */
  fillRandom(out: Tensor, normal: boolean, generator: Generator | undefined): void;
  /** The bytes of contiguous `t` once its values exist (within `options`); rejects if work they depend on failed. */
  readBytes(call: string, t: Tensor, options: WaitOptions | undefined): Promise<Uint8Array>;
  /** `readBytes`, blocking (at most `options.timeoutMs`); into `into` when given. */
  readBytesSync(call: string, t: Tensor, into: Uint8Array | undefined, options: Pick<WaitOptions, 'timeoutMs'>): Uint8Array;
  /** Resolves once `t`'s values exist (within `options`). */
  ready(call: string, t: Tensor, options: WaitOptions | undefined): Promise<void>;
}

/** Bytes of a host tensor's (contiguous) elements. */
export function hostBytes(t: Tensor, call: string): Uint8Array {
  const s = t.storage(call);
  return new Uint8Array(s.buffer!, s.byteOffset + t.storageOffset * t.itemsize, t.numel() * t.itemsize);
}

/** Waits until a host tensor's pending pool work is done (within `options`), then reports its failure if any. */
async function settled(call: string, t: Tensor, options: WaitOptions | undefined): Promise<void> {
  const s = t.storage(call);
  const bounds = waitBoundsOf(call, options);
  const done = (async () => {
    while (s.busy !== undefined) await s.busy;
  })();
  await (bounds === undefined ? done : withinBounds(done, bounds));
  if (s.failure !== undefined) throw s.failure;
}

function noData(call: string, t: Tensor): never {
  throw invalidValue(call, 'a meta tensor has no data', t.toString());
}

/** Elements from the first to one past the last element a strided tensor reaches (its strides are non-negative). */
export function span(t: Tensor): number {
  if (t.numel() === 0) return 0;
  let last = 0;
  for (let i = 0; i < t.shape.length; i++) last += (t.shape[i]! - 1) * t.strides[i]!;
  return last + 1;
}

const kernelCache = new WeakMap<Runtime, Map<string, Kernel>>();
const DEVICE_LAYOUT = operandLayout((t) => t.storage('launch').ptr + t.storageOffset * t.itemsize);

/** The kernels of one openreg device, on its current stream. */
export class DeviceExecutor implements Executor {
  readonly device: TensorDevice;
  readonly runtime: Runtime;
  readonly stream: Stream;

  constructor(runtime: Runtime, device: TensorDevice, stream?: Stream) {
    this.runtime = runtime;
    // The tensors it makes name their runtime in their device.
    this.device = device.runtime === runtime ? device : bound(device.type, device.index!, runtime);
    this.stream = stream ?? runtime.getCurrentStream(device.index!);
  }

  empty(dtype: DType, shape: Shape): Tensor {
    const nbytes = numel(shape) * DTYPES[dtype].itemsize;
    const block = nbytes === 0 ? undefined : this.runtime.cachingAllocator.allocate(nbytes, this.stream);
    return Tensor.over(new Storage(this.device, nbytes, { runtime: this.runtime, block }), dtype, shape);
  }

  launch<P extends Params>(kernel: KernelSignature<P>, args: LaunchArgs<P, KernelOperand>): void {
    const call = kernel.name;
    let reads: Tensor[] | undefined;
    forEachOperand(kernel, args, (o, access) => {
      const t = tensorOf(o);
      this.#checkOperand(call, t);
      if (access === 'read' && t.storage(call).receipts !== undefined) (reads ??= []).push(t);
    });
    // Outputs of bytes another device sent depend on its work too.
    if (reads !== undefined) {
      const writes: Tensor[] = [];
      forEachOperand(kernel, args, (o, access) => access === 'write' && writes.push(tensorOf(o)));
      carryReceipts(call, reads, writes);
    }
    encodeArguments(kernel, args, DEVICE_LAYOUT, WORDS);
    // The sanitizer learns each operand's bytes from the kernel's signature.
    const accesses = this.runtime.sanitizer.enabled ? accessesOf(kernel, args, DEVICE_LAYOUT) : undefined;
    this.runtime.launchEncoded(call, this.#kernel(call), WORDS.data, WORDS.length, this.stream, accesses);
  }

  async readBytes(call: string, t: Tensor, options: WaitOptions | undefined): Promise<Uint8Array> {
    this.#checkOperand(call, t);
    const n = t.numel() * t.itemsize;
    const pinned = this.runtime.hostAllocator.allocate(n);
    try {
      this.runtime.memcpyAsync(pinned, t.dataPtr(), n, MemcpyKind.deviceToHost, this.stream);
      await this.ready(call, t, options);
      return pinned.slice();
    } finally {
      this.runtime.hostAllocator.free(pinned);
    }
  }

  readBytesSync(call: string, t: Tensor, into: Uint8Array | undefined, options: Pick<WaitOptions, 'timeoutMs'>): Uint8Array {
    this.#checkOperand(call, t);
    const bytes = into ?? new Uint8Array(t.numel() * t.itemsize);
    // The bounded wait first; then the copy into pageable memory returns when the bytes are there (CUDA's rule).
    this.runtime.streamSynchronizeSync(this.stream, options);
    const storage = t.storage(call);
    storage.settleReceiptsSync(options);
    storage.checkReceipts(call);
    this.runtime.memcpyAsync(bytes, t.dataPtr(), bytes.byteLength, MemcpyKind.deviceToHost, this.stream);
    return bytes;
  }

  async ready(call: string, t: Tensor, options: WaitOptions | undefined): Promise<void> {
    this.#checkOperand(call, t);
    await this.runtime.streamSynchronize(this.stream, options);
    const storage = t.storage(call);
    await storage.settleReceipts(options);
    storage.checkReceipts(call);
  }

  fillRandom(out: Tensor, normal: boolean, generator: Generator | undefined): void {
    const options = { dtype: out.dtype as 'float32' | 'float64', generator, stream: this.stream };
    if (normal) this.runtime.randomNormal(out.dataPtr(), out.numel(), options);
    else this.runtime.randomUniform(out.dataPtr(), out.numel(), options);
  }

  #checkOperand(kernel: string, t: Tensor): void {
    if (!t.device.equals(this.device)) throw invalidValue(kernel, `expected all tensors on ${this.device}, got one on ${t.device}`, t.toString());
    // A tensor of another runtime has a pointer into another heap: never compute on it here.
    const s = t.storage(kernel);
    if (s.runtime !== this.runtime) throw s.runtime?.closed === true ? runtimeClosed(kernel) : invalidHandle(kernel, `${t} belongs to another runtime`);
    // A reset of the device freed all its memory: a tensor from before it has nothing behind its pointer.
    if (s.block !== undefined && !this.runtime.cachingAllocator.isLive(s.block)) throw invalidHandle(kernel, `${t} was freed by deviceReset(${s.block.device})`);
  }

  #kernel(name: string): Kernel {
    let cache = kernelCache.get(this.runtime);
    if (cache === undefined) kernelCache.set(this.runtime, (cache = new Map()));
    let k = cache.get(name);
    if (k === undefined) cache.set(name, (k = this.runtime.builtinKernel(name)));
    return k;
  }
}

/** Outputs computed from bytes another device sent depend on that device's work too (reads of them reject if it failed). */
export function carryReceipts(call: string, reads: readonly Tensor[], writes: readonly Tensor[]): void {
  for (const r of reads) {
    const receipts = r.storage(call).receipts;
    if (receipts !== undefined) for (const w of writes) w.storage(call).dependOn(receipts);
  }
}

/** Marks `storage` busy until `task` settles (the task itself waits for what was pending): the next op on it waits for it. */
export function busyUntil(storage: Storage, task: Promise<void>): void {
  storage.busy = task;
  void task.then(() => {
    if (storage.busy === task) storage.busy = undefined;
  });
}

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

  async readBytes(call: string, t: Tensor, options: WaitOptions | undefined): Promise<Uint8Array> {
    await settled(call, t, options);
    return hostBytes(t, call);
  }

  readBytesSync(call: string, t: Tensor, into: Uint8Array | undefined): Uint8Array {
    const s = t.storage(call);
    if (s.busy !== undefined) throw openRegError('cpuWorkPending', { call, tensor: t.toString() });
    if (s.failure !== undefined) throw s.failure;
    const bytes = hostBytes(t, call);
    if (into === undefined) return bytes;
    into.set(bytes);
    return into;
  }

  ready(call: string, t: Tensor, options: WaitOptions | undefined): Promise<void> {
    return settled(call, t, options);
  }

  launch<P extends Params>(kernel: KernelSignature<P>, args: LaunchArgs<P, KernelOperand>): void {
    const call = kernel.name;
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
          for (const s of outputs) s.failure = error;
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

  readBytesSync(call: string, t: Tensor): Uint8Array {
    return noData(call, t);
  }

  async ready(): Promise<void> {}
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

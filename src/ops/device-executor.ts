import type { Runtime } from '../api/runtime.js';
import { HostStepReceipt } from '../api/work-receipt.js';
import { invalidHandle, invalidValue, runtimeClosed } from '../errors/errors.js';
import { MemcpyKind } from '../memory/memcpy-kind.js';
import type { WaitOptions } from '../runtime/wait-options.js';
import type { Kernel } from '../runtime/kernel-module.js';
import type { Stream } from '../runtime/handles.js';
import { type KernelSignature, type LaunchArgs, type OperandLayout, type Params, accessesOf, encodeArguments, forEachOperand } from '../protocol/kernel-abi.js';
import { type TensorDevice, bound } from '../tensor/device.js';
import { DTYPES, type DType } from '../tensor/dtype.js';
import { type Shape, numel } from '../tensor/shape.js';
import { Storage } from '../tensor/storage.js';
import { Tensor } from '../tensor/tensor.js';
import type { Generator } from '../integration/random/generator.js';
import { CHUNK_BYTES, type Executor, type KernelOperand, WORDS, busyUntil, carryReceipts, hostBytes, operandLayout, tensorOf } from './executor.js';

const kernelCache = new WeakMap<Runtime, Map<string, Kernel>>();
const devicePtr = (t: Tensor) => t.storage('launch').ptr + t.storageOffset * t.itemsize;
const DEVICE_LAYOUT = operandLayout(devicePtr);

/** The kernels of one openreg device, on its current stream. */
export class DeviceExecutor implements Executor {
  readonly device: TensorDevice;
  readonly runtime: Runtime;
  readonly stream: Stream;

  /** The launch being encoded: its name, and whether an operand carries receipts of another device's work. */
  #call = '';
  #receipts = false;
  /** The encoder's layout, checking each operand as it is encoded: one pass over a launch's operands. */
  readonly #checkedLayout: OperandLayout<KernelOperand> = {
    ...DEVICE_LAYOUT,
    ptr: (o) => {
      const t = tensorOf(o);
      this.#checkOperand(this.#call, t);
      if (t.storage(this.#call).receipts !== undefined) this.#receipts = true;
      return devicePtr(t);
    },
  };

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
    this.#call = call;
    this.#receipts = false;
    encodeArguments(kernel, args, this.#checkedLayout, WORDS);
    // Outputs of bytes another device sent depend on its work too (rare: walked again only then).
    if (this.#receipts) {
      const reads: Tensor[] = [];
      const writes: Tensor[] = [];
      forEachOperand(kernel, args, (o, access) => {
        const t = tensorOf(o);
        if (access === 'write') writes.push(t);
        else if (t.storage(call).receipts !== undefined) reads.push(t);
      });
      if (reads.length > 0) carryReceipts(call, reads, writes);
    }
    // The sanitizer learns each operand's bytes from the kernel's signature.
    const accesses = this.runtime.sanitizer.enabled ? accessesOf(kernel, args, DEVICE_LAYOUT) : undefined;
    this.runtime.launchEncoded(call, this.#kernel(call), WORDS.data, WORDS.length, this.stream, accesses);
  }

  async readBytes(call: string, t: Tensor, options: WaitOptions | undefined, into?: Uint8Array): Promise<Uint8Array> {
    this.#checkOperand(call, t);
    const n = t.numel() * t.itemsize;
    // Nothing pending on the stream and no other device's work to wait for: one copy, straight out of device memory, no wait.
    if (t.storage(call).receipts === undefined) {
      const bytes = this.runtime.copyOutNow(call, this.stream, t.dataPtr(), into ?? n);
      if (bytes !== undefined) return bytes;
      // Else once the stream is there, straight out of device memory (staged only if work is enqueued meanwhile).
      const read = this.runtime.readWhenReached(call, this.stream, t.dataPtr(), into ?? n, options);
      if (read !== undefined) return read;
    }
    // Else the bytes as of this call, in stream order, through pinned memory.
    const pinned = this.runtime.hostAllocator.allocate(n);
    try {
      this.runtime.memcpyAsync(pinned, t.dataPtr(), n, MemcpyKind.deviceToHost, this.stream);
      await this.ready(call, t, options);
      if (into === undefined) return pinned.slice();
      into.set(pinned);
      return into;
    } finally {
      this.runtime.hostAllocator.free(pinned);
    }
  }

  writeBytes(call: string, t: Tensor, bytes: Uint8Array): void {
    this.#checkOperand(call, t);
    if (bytes.byteLength === 0) return;
    const rt = this.runtime;
    if (!rt.canWaitSync()) {
      // The main thread cannot wait (host functions need it): through pinned memory, queued in stream order.
      const pinned = rt.hostAllocator.allocate(bytes.byteLength);
      pinned.set(bytes);
      rt.memcpyAsync(t.dataPtr(), pinned, bytes.byteLength, MemcpyKind.hostToDevice, this.stream);
      rt.hostAllocator.free(pinned);
      return;
    }
    // Pageable bytes: copied straight into device memory when the stream is idle, else staged behind its work.
    rt.memcpyAsync(t.dataPtr(), bytes, bytes.byteLength, MemcpyKind.hostToDevice, this.stream);
    this.#finish();
  }

  /**
   * A blocking copy's end: the stream has done it (and what came before it, as CUDA's blocking
   * copies wait) — unless host functions are pending, which need this thread: then it stays queued.
   */
  #finish(): void {
    if (!this.runtime.streamQuery(this.stream) && this.runtime.canWaitSync()) this.runtime.streamSynchronizeSync(this.stream);
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

  copyToHost(call: string, dst: Tensor, src: Tensor): void {
    this.#checkOperand(call, src);
    const n = src.numel() * src.itemsize;
    if (n === 0) return;
    const rt = this.runtime;
    const stream = this.stream;
    const pinned = rt.hostAllocator.allocate(n);
    rt.memcpyAsync(pinned, src.dataPtr(), n, MemcpyKind.deviceToHost, stream);
    const storage = dst.storage(call);
    const before = storage.busy;
    const target = hostBytes(dst, call);
    const source = src.storage(call);
    let settled = false;
    let finish!: (error?: unknown) => void;
    const copied = new Promise<void>((resolve) => {
      finish = (error) => {
        if (settled) return;
        settled = true;
        if (error !== undefined) storage.failure = error;
        resolve();
      };
    });
    // The host step itself releases the destination: CPU work on it starts as soon as the bytes are there.
    rt.launchHostFunc(stream, async function copyToHost() {
      await before;
      target.set(pinned);
      // Bytes another device sent: their work must have succeeded too.
      if (source.receipts === undefined) finish();
      else source.settleReceipts().then(() => source.checkReceipts(call)).then(() => finish(), finish);
    });
    // A device error skips the host step: the destination then carries that error.
    rt.streamSynchronize(stream).catch((error: unknown) => finish(error));
    busyUntil(storage, copied);
    rt.hostAllocator.free(pinned);
  }

  copyFromHost(call: string, dst: Tensor, src: Tensor, nonBlocking = false): void {
    this.#checkOperand(call, dst);
    const n = dst.numel() * dst.itemsize;
    if (n === 0) return;
    const rt = this.runtime;
    const stream = this.stream;
    const storage = src.storage(call);
    const bytes = hostBytes(src, call);
    if (storage.pinned !== undefined && storage.busy === undefined && storage.failure === undefined) {
      // Already pinned and computed: the device reads it directly, in stream order.
      rt.hostAllocator.recordStream(storage.pinned, stream);
      rt.memcpyAsync(dst.dataPtr(), bytes, n, MemcpyKind.hostToDevice, stream);
      if (!nonBlocking) this.#finish();
      return;
    }
    if (storage.busy === undefined && storage.failure === undefined && !nonBlocking) {
      // A blocking copy of values that exist: one copy from pageable memory, done when this returns.
      this.writeBytes(call, dst, bytes);
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
      let read!: () => void;
      const copied = new Promise<void>((resolve) => (read = resolve));
      rt.launchHostFunc(stream, async function copyFromHost() {
        try {
          await pending;
          if (storage.failure !== undefined) return step.failed(storage.failure);
          pinned.set(bytes);
          step.succeeded();
        } finally {
          read();
        }
      });
      // Later CPU work on the source waits until its bytes were read (or the device failed and never will).
      rt.streamSynchronize(stream).catch(() => read());
      busyUntil(storage, copied);
      dst.storage(call).dependOn([step]);
    }
    rt.memcpyAsync(dst.dataPtr(), pinned, n, MemcpyKind.hostToDevice, stream);
    rt.hostAllocator.free(pinned);
  }

  peerCopy(call: string, dst: Tensor, src: Tensor): void {
    this.#checkOperand(call, src);
    const n = dst.numel() * dst.itemsize;
    if (n === 0) return;
    const rt = this.runtime;
    const target = dst.storage(call);
    if (target.runtime !== rt) throw invalidValue(call, 'the tensors belong to different runtimes');
    // The destination is on another device: a reset of that device freed its memory, which may belong to a newer tensor now.
    if (target.block !== undefined && !rt.cachingAllocator.isLive(target.block)) throw invalidHandle(call, `${dst} was freed by deviceReset(${target.block.device})`);
    const from = this.stream;
    const to = rt.getCurrentStream(dst.device.index!);
    // As PyTorch's copy_ does across devices: each stream waits for the other's earlier work.
    rt.streamWaitStream(from, to);
    rt.memcpyAsync(dst.dataPtr(), src.dataPtr(), n, MemcpyKind.deviceToDevice, from);
    rt.streamWaitStream(to, from);
    // If the source device fails before the copy runs, its stream skips it: reads of dst must reject, not see old bytes.
    target.dependOn([rt.workReceipt(call, from)]);
    target.dependOn(src.storage(call).receipts);
  }

  async readChunks(call: string, t: Tensor, sink: (chunk: Uint8Array) => Promise<void>): Promise<void> {
    if (t.numel() === 0) return;
    await this.ready(call, t, undefined);
    await this.#chunked(t, async (pinned, off) => {
      this.runtime.memcpyAsync(pinned, t.dataPtr() + off, pinned.byteLength, MemcpyKind.deviceToHost, this.stream);
      await this.runtime.streamSynchronize(this.stream);
      await sink(pinned);
    });
  }

  async writeChunks(call: string, t: Tensor, read: (into: Uint8Array, byteOffset: number) => Promise<void>): Promise<void> {
    this.#checkOperand(call, t);
    if (t.numel() === 0) return;
    await this.#chunked(t, async (pinned, off) => {
      // The chunk is reused only after the device has read it.
      await this.runtime.streamSynchronize(this.stream);
      await read(pinned, off);
      this.runtime.memcpyAsync(t.dataPtr() + off, pinned, pinned.byteLength, MemcpyKind.hostToDevice, this.stream);
    });
    await this.runtime.streamSynchronize(this.stream);
  }

  /** Runs `step` on each chunk of `t`'s bytes, staged through one pinned block of at most CHUNK_BYTES. */
  async #chunked(t: Tensor, step: (pinned: Uint8Array, byteOffset: number) => Promise<void>): Promise<void> {
    const n = t.numel() * t.itemsize;
    const block = this.runtime.hostAllocator.allocate(Math.min(n, CHUNK_BYTES));
    try {
      for (let off = 0; off < n; off += CHUNK_BYTES) await step(block.subarray(0, Math.min(CHUNK_BYTES, n - off)), off);
    } finally {
      this.runtime.hostAllocator.free(block);
    }
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

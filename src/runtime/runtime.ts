import { ErrorCode } from '../errors/error-code.js';
import { invalidDevice, invalidHandle, invalidValue, requireInteger, runtimeClosed } from '../errors/errors.js';
import { OpenRegError, describe } from '../errors/openreg-error.js';
import { kEventState, kKernelId, kOwner, kQueue } from '../internal/symbols.js';
import { Kernel, KernelModule } from '../kernel/kernel-module.js';
import { HostMemory } from '../memory/host-memory.js';
import { MemcpyKind } from '../memory/memcpy-kind.js';
import { type CopyPlan, type EnqueuedCopy, Transfers } from '../memory/transfers.js';
import { MAX_KERNEL_ARGS } from '../protocol/command.js';
import { installErrorTransfer } from '../protocol/error-transfer.js';
import { RUNTIME_BLOCK_BYTES, eventEpochIndex, eventTimeIndex } from '../protocol/layout.js';
import { type DevicePtr, deviceBase, deviceOfPointer, heapOffset } from '../protocol/pointer.js';
import type { DeviceWorkerInit, DeviceWorkerStats } from '../protocol/worker-protocol.js';
import { Event, type EventState } from '../stream/event.js';
import { Backlogs } from '../stream/backlogs.js';
import { EventTable } from '../stream/event-table.js';
import { Fence } from '../stream/fence.js';
import { type KernelArg, StreamQueue, isEncodableBigInt } from '../stream/stream-queue.js';
import { Stream } from '../stream/stream.js';
import { DeviceGuard, OptionalDeviceGuard } from '../guard/device-guard.js';
import { StreamGuard } from '../guard/stream-guard.js';
import { StreamPools } from '../stream/stream-pools.js';
import { Generator } from '../random/generator.js';
import { CachingAllocator } from '../allocator/caching-allocator.js';
import { CachingHostAllocator } from '../allocator/caching-host-allocator.js';
import { DeviceHooks } from '../hooks/device-hooks.js';
import { RuntimeHooks } from '../hooks/runtime-hooks.js';
import { Profiler } from '../profiler/profiler.js';
import { sharedClockMs } from '../protocol/clock.js';
import { RANDOM_DTYPE_BYTES, RandomDType } from '../random/random-dtype.js';
import { CurrentDevice } from './current-device.js';
import { Device } from './device.js';
import { HostFunctions } from './host-functions.js';
import { HostWaiter } from './host-waiter.js';
import { type ResolvedRuntimeOptions, type RuntimeOptions, resolveRuntimeOptions } from './options.js';

/** Result of `pointerGetAttributes` (`cudaPointerAttributes`). */
export interface PointerAttributes {
  type: 'device' | 'host' | 'unregistered';
  /** Owning device; -1 when unregistered. */
  device: number;
  /** Start of the allocation: a DevicePtr for device memory, a view of the whole allocation for pinned memory. */
  basePointer: DevicePtr | Uint8Array | null;
  /** Size of the allocation in bytes (0 when unregistered). */
  size: number;
}

/** Options of `streamCreate` (`cudaStreamCreateWithPriority` and its flags). */
export interface StreamOptions {
  /** Lower number = higher priority; clamped to the device's range. @default 0 */
  priority?: number;
  /** Exempt from the legacy default stream's implicit synchronization. @default false */
  nonBlocking?: boolean;
}

/** Options of `eventCreate` (`cudaEventCreateWithFlags`). */
export interface EventOptions {
  /** No timestamps: cheaper, and `eventElapsedTime` rejects the event. @default false */
  disableTiming?: boolean;
  /** Accepted for CUDA compatibility: host waits always sleep rather than spin for long. @default false */
  blockingSync?: boolean;
}

/** Options shared by the random fills. */
export interface RandomOptions<D extends RandomDType> {
  /** Element type of the buffer. */
  dtype?: D;
  /** Generator to draw from; it must belong to the buffer's device. @default the device's default generator */
  generator?: Generator;
  /** Stream to fill on; it must be on the buffer's device. @default the device's current stream */
  stream?: Stream;
}

/** Counters of one device, as its worker reports them, plus its memory use. */
export interface DeviceStats extends DeviceWorkerStats {
  /** Device memory in use, in bytes (rounded to the 256-byte alignment). */
  allocatedBytes: number;
  allocations: number;
}

const PRIORITY_LEAST = 0;
const PRIORITY_GREATEST = -5;

/**
 * The device runtime: the role of OpenReg's libopenreg and of the CUDA Runtime. Each
 * device is a worker thread; device memory, streams and events live in shared memory.
 */
export class Runtime implements AsyncDisposable {
  readonly options: Readonly<ResolvedRuntimeOptions>;
  readonly #devices: Device[];
  readonly #runtimeBlock: SharedArrayBuffer;
  readonly #runtimeWords: Int32Array;
  readonly #runtimeF64: Float64Array;
  readonly #host: HostMemory;
  readonly #hostFunctions = new HostFunctions();
  readonly #waiter: HostWaiter;
  readonly #transfers: Transfers;
  readonly #current = new CurrentDevice();
  readonly #pools = new StreamPools();
  readonly #generators: (Generator | undefined)[] = [];
  #cachingAllocator: CachingAllocator | undefined;
  #hostAllocator: CachingHostAllocator | undefined;
  #hooks: RuntimeHooks | undefined;
  readonly #kernelNames = new Map<number, string>();
  readonly #profiler: Profiler;
  #builtins!: { uniform: Kernel; normal: Kernel; int: Kernel };
  readonly #events = new EventTable();
  readonly #modules: { id: number; url: string }[] = [];
  #nextModuleId = 0;
  #closed = false;
  #closing: Promise<void> | undefined;

  private constructor(options: ResolvedRuntimeOptions) {
    this.options = Object.freeze(options);
    this.#runtimeBlock = new SharedArrayBuffer(RUNTIME_BLOCK_BYTES);
    this.#runtimeWords = new Int32Array(this.#runtimeBlock);
    this.#runtimeF64 = new Float64Array(this.#runtimeBlock);
    this.#host = new HostMemory(options.stagingBytes, options.hostMemoryBytes);
    // A new backlog arms the dispatcher; it flushes from the event loop, never inside the enqueue.
    const backlogs = new Backlogs(() => this.#waiter.arm());
    this.#waiter = new HostWaiter(this.#runtimeWords, this.#hostFunctions, backlogs);
    this.#devices = [];
    for (let d = 0; d < options.deviceCount; d++) {
      this.#devices.push(new Device(this, d, options.deviceMemoryBytes, this.#waiter, backlogs, this.#runtimeWords, (device) => this.#onDeviceLost(device)));
    }
    this.#transfers = new Transfers(this.#devices, this.#host, this.#waiter);
    this.#profiler = new Profiler(this.#devices, (id) => this.#kernelNames.get(id) ?? `kernel #${id}`);
  }

  /** Starts one worker thread per device. */
  static async create(options?: RuntimeOptions): Promise<Runtime> {
    installErrorTransfer();
    const runtime = new Runtime(resolveRuntimeOptions(options));
    try {
      await Promise.all(runtime.#devices.map((d) => d.start(runtime.#workerInit())));
      const builtins = await runtime.loadModule(new URL('../../workers/builtin-kernels.js', import.meta.url));
      runtime.#builtins = {
        uniform: builtins.getFunction('randomUniform'),
        normal: builtins.getFunction('randomNormal'),
        int: builtins.getFunction('randomInt'),
      };
    } catch (error) {
      await runtime.close().catch(() => undefined);
      throw error;
    }
    return runtime;
  }

  // ---------------------------------------------------------------- lifecycle

  /** Waits for enqueued work, then terminates every worker. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  get closed(): boolean {
    return this.#closed;
  }

  async #close(): Promise<void> {
    // Workers are unref'd: hold the process open until they are gone.
    const keepAlive = setInterval(() => undefined, 1000);
    try {
      await this.#shutdown();
    } finally {
      clearInterval(keepAlive);
    }
  }

  async #shutdown(): Promise<void> {
    // Let enqueued work finish; a failed or lost device has nothing left to finish.
    const idle = this.#devices.map((device) => {
      const fence = new Fence();
      device.addToFence(fence);
      return this.#waiter.waitAsync([device], () => device.isLost || fence.complete).catch(() => undefined);
    });
    this.#closed = true;
    await Promise.all(idle);
    this.#waiter.close();
    await Promise.all(this.#devices.map((d) => d.close()));
  }

  // ---------------------------------------------------------------- devices

  getDeviceCount(): number {
    this.#open('getDeviceCount');
    return this.#devices.length;
  }

  /** Current device of the calling async context (0 by default). */
  getDevice(): number {
    this.#open('getDevice');
    return this.#current.get();
  }

  setDevice(device: number): void {
    this.#open('setDevice');
    this.#current.set(this.#deviceIndex('setDevice', device));
  }

  /** Sets the current device and returns the previous one. */
  exchangeDevice(device: number): number {
    this.#open('exchangeDevice');
    const d = this.#deviceIndex('exchangeDevice', device);
    const previous = this.#current.get();
    this.#current.set(d);
    return previous;
  }

  /**
   * The device guard: runs `fn` with current device `device` in a scope of its own; the
   * caller's device is untouched, whether `fn` returns, throws or awaits.
   */
  withDevice<T>(device: number, fn: () => T): T {
    this.#open('withDevice');
    const d = this.#deviceIndex('withDevice', device);
    if (typeof fn !== 'function') throw invalidValue('withDevice', 'fn must be a function', fn);
    return this.#current.run(d, fn);
  }

  /** Resolves once all work enqueued so far on the current device has completed. */
  deviceSynchronize(): Promise<void> {
    const call = 'deviceSynchronize';
    try {
      const device = this.#currentDevice(call);
      const fence = this.#deviceFence(device);
      const start = this.#beginSync(call, device);
      return this.#waiter.waitAsync([device], this.#until(call, [device], () => fence.complete)).then(() => {
        device.memory.collect();
        this.#syncEnd(call, device, undefined, start);
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  deviceSynchronizeSync(): void {
    const call = 'deviceSynchronizeSync';
    const device = this.#currentDevice(call);
    const fence = this.#deviceFence(device);
    const start = this.#beginSync(call, device);
    this.#waiter.waitSync(call, [device], this.#until(call, [device], () => fence.complete));
    device.memory.collect();
    this.#syncEnd(call, device, undefined, start);
  }

  /** `{ least: 0, greatest: -5 }`: lower number = higher priority, as CUDA. */
  deviceGetStreamPriorityRange(): { least: number; greatest: number } {
    this.#open('deviceGetStreamPriorityRange');
    return { least: PRIORITY_LEAST, greatest: PRIORITY_GREATEST };
  }

  /** Free and total bytes of the current device's memory. */
  memGetInfo(): { free: number; total: number } {
    const device = this.#currentDevice('memGetInfo');
    device.memory.collect();
    return { free: device.memory.ranges.freeBytes, total: device.memory.ranges.capacity };
  }

  /**
   * Clears device `device`'s sticky error: its pending work is discarded, its memory
   * freed, its streams and events invalidated. A lost device gets a new worker.
   */
  async deviceReset(device: number): Promise<void> {
    this.#open('deviceReset');
    const d = this.#devices[this.#deviceIndex('deviceReset', device)]!;
    this.#hostFunctions.dropDevice(d.index);
    this.#events.releaseDevice(d.index);
    this.#pools.dropDevice(d.index);
    this.#cachingAllocator?.dropDevice(d.index);
    await d.reset(async () => {
      await d.start(this.#workerInit());
      for (const m of this.#modules) await d.call('deviceReset', (r) => r.loadModule(m.id, m.url));
    });
    this.#waiter.arm();
  }

  /** Counters kept by the device's worker, plus its memory use. */
  async deviceStats(device: number): Promise<DeviceStats> {
    this.#open('deviceStats');
    const d = this.#devices[this.#deviceIndex('deviceStats', device)]!;
    const stats = await d.call('deviceStats', (r) => r.stats());
    return { ...stats, allocatedBytes: d.memory.liveBytes, allocations: d.memory.liveCount };
  }

  // ---------------------------------------------------------------- memory

  /** Device memory on the current device, 256-byte aligned (`cudaMalloc`). */
  malloc(size: number): DevicePtr {
    const call = 'malloc';
    const start = this.#profiler.active ? sharedClockMs() : 0;
    const device = this.#currentDevice(call);
    const n = requireSize(call, size);
    let offset = device.memory.allocate(n);
    if (offset < 0 && device.memory.hasPendingReleases) {
      // cudaFree would have synchronized: wait for the deferred frees, then retry.
      this.#waiter.waitSync(call, this.#devices, () => {
        device.throwIfFailed(call);
        device.memory.collect();
        return !device.memory.hasPendingReleases;
      });
      offset = device.memory.allocate(n);
    }
    if (offset < 0) {
      throw new OpenRegError(
        ErrorCode.OUT_OF_MEMORY,
        `malloc: cannot allocate ${n} bytes on device ${device.index}: ${device.memory.ranges.freeBytes} bytes free ` +
          `(largest free block ${device.memory.ranges.largestFreeRange}) of ${device.memory.ranges.capacity} total`,
        { device: device.index },
      );
    }
    const ptr = deviceBase(device.index) + offset;
    if (device.hooks !== undefined) device.hooks.emit('allocation', { device: device.index, ptr, size: n });
    if (start !== 0) this.#profiler.hostSpan('runtime', call, device.index, -1, start, n);
    return ptr;
  }

  /** Frees device memory; it is reused only after all work enqueued before the free has completed. */
  free(ptr: DevicePtr): void {
    const call = 'free';
    const start = this.#profiler.active ? sharedClockMs() : 0;
    this.#open(call);
    if (ptr === 0) return;
    if (typeof ptr !== 'number') throw invalidValue(call, 'ptr must be a DevicePtr', ptr);
    const d = deviceOfPointer(ptr, this.#devices.length);
    if (d < 0) throw invalidValue(call, 'not a device pointer', ptr);
    const device = this.#devices[d]!;
    device.throwIfFailed(call);
    const offset = heapOffset(ptr, d);
    if (!device.memory.free(offset, this.#allWorkFence())) {
      const interior = device.memory.find(offset, 1) >= 0;
      throw invalidValue(call, interior ? 'not the start of an allocation (interior pointer)' : `no live allocation at this address on device ${d} (unknown or already freed)`, ptr);
    }
    if (device.hooks !== undefined) device.hooks.emit('free', { device: d, ptr });
    if (start !== 0) this.#profiler.hostSpan('runtime', call, d, -1, start);
  }

  /** Pinned host memory: a Uint8Array over shared memory, copied to and from asynchronously. */
  mallocHost(size: number): Uint8Array {
    const call = 'mallocHost';
    this.#open(call);
    const n = requireSize(call, size);
    const pinned = this.#host.pinned;
    let view = this.#host.allocate(n, this.#current.get());
    if (view === undefined && pinned.hasPendingReleases) {
      this.#waiter.waitSync(call, this.#devices, () => {
        pinned.collect();
        return !pinned.hasPendingReleases;
      });
      view = this.#host.allocate(n, this.#current.get());
    }
    if (view === undefined) {
      throw new OpenRegError(
        ErrorCode.OUT_OF_MEMORY,
        `mallocHost: cannot allocate ${n} bytes of pinned memory: ${pinned.ranges.freeBytes} bytes free of ${pinned.ranges.capacity} total`,
      );
    }
    return view;
  }

  freeHost(view: ArrayBufferView): void {
    const call = 'freeHost';
    this.#open(call);
    if (!ArrayBuffer.isView(view)) throw invalidValue(call, 'view must be a view returned by mallocHost', view);
    if (!this.#host.free(view, this.#allWorkFence())) {
      const interior = this.#host.allocationOf(view) !== undefined;
      throw invalidValue(call, interior ? 'not the start of a pinned allocation (interior view)' : 'not a live pinned allocation (unknown or already freed)', view);
    }
  }

  /** True for a pinned allocation or any view inside one. */
  isPinned(view: ArrayBufferView): boolean {
    this.#open('isPinned');
    if (!ArrayBuffer.isView(view)) throw invalidValue('isPinned', 'view must be an ArrayBufferView', view);
    return this.#host.isPinned(view);
  }

  pointerGetAttributes(ptr: DevicePtr | ArrayBufferView): PointerAttributes {
    const call = 'pointerGetAttributes';
    this.#open(call);
    if (typeof ptr === 'number') {
      const d = deviceOfPointer(ptr, this.#devices.length);
      const memory = d >= 0 ? this.#devices[d]!.memory : undefined;
      const base = memory?.find(heapOffset(ptr, d), 1) ?? -1;
      if (base >= 0) return { type: 'device', device: d, basePointer: deviceBase(d) + base, size: memory!.sizeOf(base) };
      return { type: 'unregistered', device: -1, basePointer: null, size: 0 };
    }
    if (ArrayBuffer.isView(ptr)) {
      const pinned = this.#host.allocationOf(ptr);
      if (pinned !== undefined) return { type: 'host', device: pinned.device, basePointer: pinned.base, size: pinned.base.byteLength };
      return { type: 'unregistered', device: -1, basePointer: null, size: 0 };
    }
    throw invalidValue(call, 'ptr must be a DevicePtr or an ArrayBufferView', ptr);
  }

  /** Copies `count` bytes and resolves when done (`cudaMemcpy`), on the legacy default stream. */
  memcpy(dst: DevicePtr | ArrayBufferView, src: DevicePtr | ArrayBufferView, count: number, kind: MemcpyKind = MemcpyKind.default): Promise<void> {
    try {
      const copy = this.#enqueueMemcpy('memcpy', dst, src, count, kind, false);
      if (copy === undefined) return Promise.resolve();
      const { enqueued, devices } = copy;
      return this.#waiter
        .waitAsync(devices, this.#until('memcpy', devices, () => enqueued.queue.hasCompleted(enqueued.seq)))
        .then(() => enqueued.after?.());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  memcpySync(dst: DevicePtr | ArrayBufferView, src: DevicePtr | ArrayBufferView, count: number, kind: MemcpyKind = MemcpyKind.default): void {
    const copy = this.#enqueueMemcpy('memcpySync', dst, src, count, kind, true);
    if (copy === undefined) return;
    const { enqueued, devices } = copy;
    this.#waiter.waitSync('memcpySync', devices, this.#until('memcpySync', devices, () => enqueued.queue.hasCompleted(enqueued.seq)));
    enqueued.after?.();
  }

  /**
   * Enqueues a copy on `stream` (`cudaMemcpyAsync`). From pageable memory the bytes are
   * captured before returning; to pageable memory it returns once the copy is done.
   */
  memcpyAsync(dst: DevicePtr | ArrayBufferView, src: DevicePtr | ArrayBufferView, count: number, kind: MemcpyKind = MemcpyKind.default, stream?: Stream): void {
    const call = 'memcpyAsync';
    this.#open(call);
    const plan = this.#transfers.plan(call, dst, src, count, kind);
    const queue = this.#queueOrCurrent(call, stream);
    if (plan === undefined) return;
    const devices = this.#touched(call, plan, queue);
    const enqueued = this.#traced(call, queue, () => this.#transfers.enqueue(call, queue, plan));
    this.#emitCopy(call, queue, plan);
    if (this.#hostAllocator !== undefined) for (const base of this.#transfers.pinnedBases(plan)) this.#hostAllocator.noteUse(base, queue);
    if (enqueued.after !== undefined) {
      this.#waiter.waitSync(call, devices, this.#until(call, devices, () => queue.hasCompleted(enqueued.seq)));
      enqueued.after();
    }
  }

  /** Fills device memory with a byte and resolves when done (`cudaMemset`). */
  memset(ptr: DevicePtr, value: number, count: number): Promise<void> {
    try {
      const fill = this.#memsetDefault('memset', ptr, value, count);
      if (fill === undefined) return Promise.resolve();
      return this.#waiter.waitAsync([fill.queue.device], this.#until('memset', [fill.queue.device], () => fill.queue.hasCompleted(fill.seq)));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  memsetSync(ptr: DevicePtr, value: number, count: number): void {
    const fill = this.#memsetDefault('memsetSync', ptr, value, count);
    if (fill === undefined) return;
    this.#waiter.waitSync('memsetSync', [fill.queue.device], this.#until('memsetSync', [fill.queue.device], () => fill.queue.hasCompleted(fill.seq)));
  }

  memsetAsync(ptr: DevicePtr, value: number, count: number, stream?: Stream): void {
    const call = 'memsetAsync';
    this.#open(call);
    const fill = this.#transfers.planMemset(call, ptr, value, count);
    const queue = this.#queueOrCurrent(call, stream);
    if (fill === undefined) return;
    fill.device.throwIfFailed(call);
    this.#traced(call, queue, () => queue.enqueueMemset(fill.device.index, fill.offset, fill.value, fill.count, call));
  }

  // ---------------------------------------------------------------- streams

  /** A new stream on the current device. */
  streamCreate(options?: StreamOptions): Stream {
    const call = 'streamCreate';
    const device = this.#currentDevice(call);
    if (options !== undefined && (typeof options !== 'object' || options === null)) throw invalidValue(call, 'options must be an object', options);
    const priority = options?.priority ?? 0;
    if (typeof priority !== 'number' || !Number.isInteger(priority)) throw invalidValue(call, 'options.priority must be an integer', priority);
    const nonBlocking = options?.nonBlocking ?? false;
    if (typeof nonBlocking !== 'boolean') throw invalidValue(call, 'options.nonBlocking must be a boolean', nonBlocking);
    const clamped = Math.min(PRIORITY_LEAST, Math.max(PRIORITY_GREATEST, priority));
    const queue = device.createStream(clamped, nonBlocking);
    if (queue === undefined) {
      throw new OpenRegError(ErrorCode.OUT_OF_MEMORY, `${call}: device ${device.index} has no free stream (all ${device.queues.length - 1} are in use)`, {
        device: device.index,
      });
    }
    return new Stream(queue, this);
  }

  /** The legacy default stream of `device` (default: the current device). */
  defaultStream(device?: number): Stream {
    this.#open('defaultStream');
    const d = device === undefined ? this.#current.get() : this.#deviceIndex('defaultStream', device);
    return this.#devices[d]!.defaultStreamHandle;
  }

  streamGetPriority(stream: Stream): number {
    return this.#queue('streamGetPriority', stream).priority;
  }

  /** True iff all work enqueued on the stream has finished. */
  streamQuery(stream: Stream): boolean {
    const queue = this.#queue('streamQuery', stream);
    queue.device.throwIfFailed('streamQuery');
    return queue.idle;
  }

  streamSynchronize(stream: Stream): Promise<void> {
    const call = 'streamSynchronize';
    try {
      const queue = this.#queue(call, stream);
      return this.#synchronize(call, queue, queue.submitted);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  streamSynchronizeSync(stream: Stream): void {
    const call = 'streamSynchronizeSync';
    const queue = this.#queue(call, stream);
    this.#synchronizeSync(call, queue, queue.submitted);
  }

  /**
   * Later work on `stream` waits for the event's most recent record as of this call; a
   * later re-record does not affect it. A never-recorded event is a no-op.
   */
  streamWaitEvent(stream: Stream, event: Event): void {
    const call = 'streamWaitEvent';
    const queue = this.#queue(call, stream);
    const state = this.#event(call, event);
    queue.device.throwIfFailed(call);
    const record = state.record;
    if (record === undefined || record.queue.hasCompleted(record.seq)) return;
    this.#traced(call, queue, (correlation) => {
      this.#profiler.flow(record.correlation, correlation);
      queue.enqueueWait(record.queue.device.index, record.queue.index, record.seq, call);
    });
  }

  /** Later work on `stream` waits for all work enqueued on `other` so far (`waitStream`). */
  streamWaitStream(stream: Stream, other: Stream): void {
    const call = 'streamWaitStream';
    const queue = this.#queue(call, stream);
    const target = this.#queue(call, other);
    queue.device.throwIfFailed(call);
    if (target === queue || target.hasCompleted(target.submitted)) return;
    queue.enqueueWait(target.device.index, target.index, target.submitted, call);
  }

  /** Work already enqueued still completes; further use of the stream is an error. */
  streamDestroy(stream: Stream): void {
    const call = 'streamDestroy';
    const queue = this.#queue(call, stream);
    if (queue.isDefault) throw invalidHandle(call, `${stream} is a default stream and cannot be destroyed`);
    if (this.#pools.owns(queue)) throw invalidHandle(call, `${stream} belongs to the stream pool and cannot be destroyed`);
    if (this.#current.stream(queue.device.index) === stream) this.#current.setStream(queue.device.index, undefined);
    queue.device.destroyStream(queue);
  }

  /**
   * A stream from the device's pool (`getStreamFromPool`): 32 non-blocking streams per
   * priority, created on first use and handed out round-robin.
   */
  getStreamFromPool(options?: { highPriority?: boolean; device?: number }): Stream {
    const call = 'getStreamFromPool';
    this.#open(call);
    if (options !== undefined && (typeof options !== 'object' || options === null)) throw invalidValue(call, 'options must be an object', options);
    const high = options?.highPriority ?? false;
    if (typeof high !== 'boolean') throw invalidValue(call, 'options.highPriority must be a boolean', high);
    const device = this.#devices[options?.device === undefined ? this.#current.get() : this.#deviceIndex(call, options.device)]!;
    device.throwIfFailed(call);
    return this.#pools.next(device, high, (priority) => {
      const queue = device.createStream(priority, true);
      if (queue === undefined) throw new OpenRegError(ErrorCode.OUT_OF_MEMORY, `${call}: device ${device.index} has no free stream for its pool`);
      return new Stream(queue, this);
    });
  }

  /** The current stream of `device` (default: the current device) in this async context. */
  getCurrentStream(device?: number): Stream {
    this.#open('getCurrentStream');
    const d = device === undefined ? this.#current.get() : this.#deviceIndex('getCurrentStream', device);
    return this.#current.stream(d) ?? this.#devices[d]!.defaultStreamHandle;
  }

  /** Makes `stream` the current stream of its device in this async context (it does not change the current device). */
  setCurrentStream(stream: Stream): void {
    const queue = this.#queue('setCurrentStream', stream);
    this.#current.setStream(queue.device.index, queue.isDefault ? undefined : stream);
  }

  /**
   * The stream guard as a scope: runs `fn` with `stream` as the current stream and its
   * device as the current device; both are restored when `fn` returns or throws.
   */
  withStream<T>(stream: Stream, fn: () => T): T {
    const queue = this.#queue('withStream', stream);
    if (typeof fn !== 'function') throw invalidValue('withStream', 'fn must be a function', fn);
    return this.#current.run(queue.device.index, fn, stream);
  }

  /** `using guard = rt.deviceGuard(d)`: device `d` until the block ends. */
  deviceGuard(device: number): DeviceGuard {
    return new DeviceGuard(this, device);
  }

  /** `using guard = rt.optionalDeviceGuard(d?)`: a guard that may hold no device. */
  optionalDeviceGuard(device?: number | null): OptionalDeviceGuard {
    this.#open('optionalDeviceGuard');
    return new OptionalDeviceGuard(this, device);
  }

  /** `using guard = rt.streamGuard(s)`: `s` and its device are current until the block ends. */
  streamGuard(stream: Stream): StreamGuard {
    this.#queue('streamGuard', stream);
    return new StreamGuard(this, stream);
  }

  // ---------------------------------------------------------------- events

  /** A new event on the current device; timing is on unless `disableTiming`. */
  eventCreate(options?: EventOptions): Event {
    const call = 'eventCreate';
    const device = this.#currentDevice(call);
    const state = this.#newEventState(call, options);
    this.#bindEvent(call, state, device);
    return new Event(state);
  }

  /**
   * An event bound to a device only when first recorded, on the recording stream's device
   * (`torch.cuda.Event`): until then it has no device and no slot in the event table.
   */
  lazyEvent(options?: EventOptions): Event {
    const call = 'lazyEvent';
    this.#open(call);
    return new Event(this.#newEventState(call, options));
  }

  #newEventState(call: string, options: EventOptions | undefined): EventState {
    if (options !== undefined && (typeof options !== 'object' || options === null)) throw invalidValue(call, 'options must be an object', options);
    const disableTiming = options?.disableTiming ?? false;
    const blockingSync = options?.blockingSync ?? false;
    if (typeof disableTiming !== 'boolean') throw invalidValue(call, 'options.disableTiming must be a boolean', disableTiming);
    if (typeof blockingSync !== 'boolean') throw invalidValue(call, 'options.blockingSync must be a boolean', blockingSync);
    return { owner: this, device: -1, slot: -1, timing: !disableTiming, blockingSync, generation: -1, destroyed: false, record: undefined };
  }

  #bindEvent(call: string, state: EventState, device: Device): void {
    const slot = this.#events.allocate();
    if (slot < 0) throw new OpenRegError(ErrorCode.OUT_OF_MEMORY, `${call}: the event table is full`);
    state.slot = slot;
    state.device = device.index;
    state.generation = device.generation;
    this.#events.track(state);
  }

  /** Captures all work enqueued on `stream` so far; re-recording replaces the capture. */
  eventRecord(event: Event, stream?: Stream): void {
    const call = 'eventRecord';
    const state = this.#event(call, event);
    const queue = this.#queueOrCurrent(call, stream);
    if (state.device < 0) this.#bindEvent(call, state, queue.device);
    if (queue.device.index !== state.device) {
      throw invalidHandle(call, `${event} belongs to device ${state.device} but the stream is on device ${queue.device.index}`);
    }
    queue.device.throwIfFailed(call);
    const epoch = this.#events.nextEpoch();
    let correlation = 0;
    const seq = this.#traced(call, queue, (c) => {
      correlation = c;
      return queue.enqueueRecordEvent(state.slot, epoch, state.timing, call);
    });
    state.record = { queue, seq, epoch, correlation };
  }

  /** True once the captured work has completed (a never-recorded event is complete). */
  eventQuery(event: Event): boolean {
    const state = this.#event('eventQuery', event);
    const record = state.record;
    if (record === undefined) return true;
    record.queue.device.throwIfFailed('eventQuery');
    return record.queue.hasCompleted(record.seq);
  }

  eventSynchronize(event: Event): Promise<void> {
    const call = 'eventSynchronize';
    try {
      const record = this.#event(call, event).record;
      if (record === undefined) return Promise.resolve();
      return this.#synchronize(call, record.queue, record.seq);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  eventSynchronizeSync(event: Event): void {
    const call = 'eventSynchronizeSync';
    const record = this.#event(call, event).record;
    if (record === undefined) return;
    this.#synchronizeSync(call, record.queue, record.seq);
  }

  /** Milliseconds between the completion of two events' records, on the shared clock. */
  eventElapsedTime(start: Event, end: Event): number {
    const call = 'eventElapsedTime';
    const a = this.#event(call, start);
    const b = this.#event(call, end);
    for (const [name, s] of [['start', a], ['end', b]] as const) {
      if (!s.timing) throw invalidHandle(call, `${name} event was created with disableTiming`);
      if (s.record === undefined) throw invalidHandle(call, `${name} event was never recorded`);
    }
    if (a.device !== b.device) throw invalidHandle(call, `the events are on different devices (${a.device} and ${b.device})`);
    for (const s of [a, b]) {
      const r = s.record!;
      r.queue.device.throwIfFailed(call);
      if (!r.queue.hasCompleted(r.seq) || Atomics.load(this.#runtimeWords, eventEpochIndex(s.slot)) !== r.epoch) {
        throw new OpenRegError(ErrorCode.NOT_READY, `${call}: ${s === a ? 'start' : 'end'} event has not completed yet`);
      }
    }
    return this.#runtimeF64[eventTimeIndex(b.slot)]! - this.#runtimeF64[eventTimeIndex(a.slot)]!;
  }

  /** Further use is an error; waits already enqueued on the event still resolve. */
  eventDestroy(event: Event): void {
    const state = this.#event('eventDestroy', event);
    state.destroyed = true;
    if (state.slot >= 0) this.#events.release(state);
  }

  // ---------------------------------------------------------------- kernels

  /** Imports an ES module of kernels in every device worker. */
  async loadModule(url: string | URL): Promise<KernelModule> {
    const call = 'loadModule';
    this.#open(call);
    let href: string;
    if (url instanceof URL) href = url.href;
    else if (typeof url === 'string' && url.startsWith('file:')) href = url;
    else if (typeof url === 'string' && url.startsWith('/')) href = new URL(`file://${url}`).href;
    else throw invalidValue(call, 'url must be a file: URL or an absolute path', url);
    const id = this.#nextModuleId++;
    const live = this.#devices.filter((d) => !d.isLost);
    const names = await Promise.all(live.map((d) => d.call(call, (r) => r.loadModule(id, href))));
    // Only modules that loaded are reloaded into a restarted worker.
    this.#modules.push({ id, url: href });
    const module = new KernelModule(this, id, href, names[0] ?? []);
    for (const name of module.functionNames) this.#kernelNames.set(module.getFunction(name)[kKernelId], name);
    return module;
  }

  /** Enqueues `kernel(ctx, ...args)` on the stream's device (`cudaLaunchKernel`). */
  launchKernel(kernel: Kernel, args: readonly KernelArg[], stream?: Stream): void {
    const call = 'launchKernel';
    if (this.#closed) throw runtimeClosed(call);
    if (!(kernel instanceof Kernel) || kernel[kOwner] !== this) throw invalidValue(call, 'kernel must be a Kernel of this runtime', kernel);
    if (!Array.isArray(args)) throw invalidValue(call, 'args must be an array', args);
    if (args.length > MAX_KERNEL_ARGS) throw invalidValue(call, `at most ${MAX_KERNEL_ARGS} arguments are supported, got ${args.length}`);
    for (let i = 0; i < args.length; i++) {
      const a: unknown = args[i];
      const t = typeof a;
      if (t !== 'number' && t !== 'boolean' && !(t === 'bigint' && isEncodableBigInt(a as bigint))) {
        throw invalidValue(call, `args[${i}] of ${kernel.name} must be a number, a boolean or a 64-bit bigint`, a);
      }
    }
    const queue = this.#queueOrCurrent(call, stream);
    queue.device.throwIfFailed(call);
    // The traced path lives in its own method: a closure here would cost every launch a context.
    if (this.#profiler.active) this.#launchTraced(queue, kernel, args);
    else queue.enqueueKernel(kernel[kKernelId], args, call);
    if (queue.device.hooks !== undefined) {
      queue.device.hooks.emit('kernelLaunch', { device: queue.device.index, stream: queue.index, kernel: kernel.name, argc: args.length });
    }
  }

  /**
   * Runs `fn` on the main thread once all earlier work on `stream` has completed; later
   * work on the stream waits until it returns (or until the promise it returns settles).
   */
  launchHostFunc(stream: Stream | undefined, fn: () => unknown): void {
    const call = 'launchHostFunc';
    const queue = this.#queueOrCurrent(call, stream);
    if (typeof fn !== 'function') throw invalidValue(call, 'fn must be a function', fn);
    queue.device.throwIfFailed(call);
    const seq = this.#traced(call, queue, () => queue.enqueueHostFunction(call));
    this.#hostFunctions.add(queue, seq, fn);
    this.#waiter.arm();
  }

  // ---------------------------------------------------------------- caching allocators

  /** The caching device allocator (PyTorch's CUDA caching allocator semantics), created on first use. */
  get cachingAllocator(): CachingAllocator {
    this.#open('cachingAllocator');
    return (this.#cachingAllocator ??= new CachingAllocator(this));
  }

  /** The profiler: API calls and device execution on one clock, exported as a Chrome trace. */
  get profiler(): Profiler {
    this.#open('profiler');
    return this.#profiler;
  }

  /** OpenReg's hooks interface: backend capabilities, and per-device observable hooks. */
  get hooks(): RuntimeHooks {
    this.#open('hooks');
    return (this.#hooks ??= new RuntimeHooks({
      runtime: this,
      deviceHooks: (device) => (this.#devices[device]!.hooks ??= new DeviceHooks()),
      isLive: (device) => !this.#devices[device]!.isLost,
      deviceOfPointer: (ptr) => {
        const attributes = this.pointerGetAttributes(ptr);
        return attributes.type === 'device' ? attributes.device : -1;
      },
    }));
  }

  /** The caching pinned host allocator (PyTorch's CachingHostAllocator semantics), created on first use. */
  get hostAllocator(): CachingHostAllocator {
    this.#open('hostAllocator');
    return (this.#hostAllocator ??= new CachingHostAllocator(this));
  }

  // ---------------------------------------------------------------- random numbers

  /** The default Philox generator of `device` (default: the current device), created on first use. */
  defaultGenerator(device?: number): Generator {
    this.#open('defaultGenerator');
    const d = device === undefined ? this.#current.get() : this.#deviceIndex('defaultGenerator', device);
    return (this.#generators[d] ??= new Generator(d));
  }

  /** A new generator for `device` (default: the current device), with the default seed. */
  newGenerator(device?: number): Generator {
    this.#open('newGenerator');
    return new Generator(device === undefined ? this.#current.get() : this.#deviceIndex('newGenerator', device));
  }

  /** Seeds the current device's default generator (its offset goes back to 0). */
  manualSeed(seed: number | bigint): void {
    this.defaultGenerator().manualSeed(seed);
  }

  /** Seeds every device's default generator. */
  manualSeedAll(seed: number | bigint): void {
    for (let d = 0; d < this.#devices.length; d++) this.defaultGenerator(d).manualSeed(seed);
  }

  /** Seeds the current device's default generator nondeterministically; returns the seed. */
  seed(): bigint {
    return this.defaultGenerator().seed();
  }

  initialSeed(): bigint {
    return this.defaultGenerator().initialSeed();
  }

  /** Fills `count` elements at `ptr` with uniform values in [0, 1) (float32 or float64). */
  randomUniform(ptr: DevicePtr, count: number, options?: RandomOptions<'float32' | 'float64'>): void {
    const dtype = options?.dtype ?? 'float32';
    this.#randomFill('randomUniform', this.#builtins.uniform, ptr, count, dtype, ['float32', 'float64'], options, dtype === 'float64' ? 2 : 1, []);
  }

  /** Fills `count` elements at `ptr` with normal values (float32 or float64). */
  randomNormal(ptr: DevicePtr, count: number, options?: RandomOptions<'float32' | 'float64'> & { mean?: number; std?: number }): void {
    const call = 'randomNormal';
    const mean = options?.mean ?? 0;
    const std = options?.std ?? 1;
    if (typeof mean !== 'number' || !Number.isFinite(mean)) throw invalidValue(call, 'options.mean must be a finite number', mean);
    if (typeof std !== 'number' || !Number.isFinite(std) || std < 0) throw invalidValue(call, 'options.std must be a finite number >= 0', std);
    this.#randomFill(call, this.#builtins.normal, ptr, count, options?.dtype ?? 'float32', ['float32', 'float64'], options, 2, [mean, std]);
  }

  /** Fills `count` elements at `ptr` with integers uniform in [low, high) (int32, float32 or float64). */
  randomInt(ptr: DevicePtr, count: number, low: number, high: number, options?: RandomOptions<RandomDType>): void {
    const call = 'randomInt';
    const dtype = options?.dtype ?? 'int32';
    const [min, max] = dtype === 'int32' ? [-(2 ** 31), 2 ** 31] : [-(2 ** 53), 2 ** 53];
    if (typeof low !== 'number' || !Number.isSafeInteger(low) || low < min) throw invalidValue(call, `low must be an integer >= ${min}`, low);
    if (typeof high !== 'number' || !Number.isSafeInteger(high) || high > max || high <= low || high - low > 2 ** 32) {
      throw invalidValue(call, `high must be an integer in (low, min(low + 2^32, ${max})]`, high);
    }
    this.#randomFill(call, this.#builtins.int, ptr, count, dtype, ['int32', 'float32', 'float64'], options, 1, [low, high]);
  }

  /** Reserves the generator's offsets at launch, then launches a built-in fill on the buffer's device. */
  #randomFill(
    call: string,
    kernel: Kernel,
    ptr: DevicePtr,
    count: number,
    dtype: unknown,
    dtypes: readonly RandomDType[],
    options: RandomOptions<RandomDType> | undefined,
    valuesPerElement: number,
    extra: number[],
  ): void {
    this.#open(call);
    if (options !== undefined && (typeof options !== 'object' || options === null)) throw invalidValue(call, 'options must be an object', options);
    const n = requireInteger(call, 'count', count, 0);
    if (!dtypes.includes(dtype as RandomDType)) throw invalidValue(call, `options.dtype must be one of ${dtypes.join(', ')}`, dtype);
    const { device } = this.#transfers.deviceRange(call, ptr, Math.max(1, n * RANDOM_DTYPE_BYTES[dtype as RandomDType]));
    const generator = options?.generator ?? this.defaultGenerator(device.index);
    if (!(generator instanceof Generator)) throw invalidValue(call, 'options.generator must be a Generator', generator);
    if (generator.device !== device.index) {
      throw invalidValue(call, `the generator belongs to device ${generator.device} but the buffer is on device ${device.index}`);
    }
    const queue = options?.stream === undefined ? this.#currentQueueOf(call, device) : this.#queue(call, options.stream);
    if (queue.device !== device) throw invalidValue(call, `the stream is on device ${queue.device.index} but the buffer is on device ${device.index}`);
    device.throwIfFailed(call);
    if (n === 0) return;
    const [seedLo, seedHi] = generator.key;
    const offset = generator.reserve(n * valuesPerElement);
    queue.enqueueKernel(kernel[kKernelId], [ptr, n, RandomDType[dtype as RandomDType], seedLo, seedHi, offset, ...extra], call);
  }

  /** The current stream of a given device. */
  #currentQueueOf(call: string, device: Device): StreamQueue {
    const current = this.#current.stream(device.index);
    return current === undefined ? device.defaultStream : this.#queue(call, current);
  }

  // ---------------------------------------------------------------- internals

  #workerInit(): Omit<DeviceWorkerInit, 'device' | 'allocationOwner' | 'allocationSize' | 'traceBuffer'> {
    return {
      controls: this.#devices.map((d) => d.controlBuffer),
      heaps: this.#devices.map((d) => d.heap),
      runtimeBlock: this.#runtimeBlock,
      hostPool: this.#host.pool,
    };
  }

  #open(call: string): void {
    if (this.#closed) throw runtimeClosed(call);
  }

  #deviceIndex(call: string, device: unknown): number {
    if (typeof device !== 'number' || !Number.isInteger(device) || device < 0 || device >= this.#devices.length) {
      throw invalidDevice(call, device, this.#devices.length);
    }
    return device;
  }

  #currentDevice(call: string): Device {
    this.#open(call);
    const device = this.#devices[this.#current.get()]!;
    device.throwIfFailed(call);
    return device;
  }

  #queue(call: string, stream: unknown): StreamQueue {
    this.#open(call);
    if (!(stream instanceof Stream)) throw invalidHandle(call, `expected a Stream, got ${describe(stream)}`);
    const queue = stream[kQueue];
    if (this.#devices[queue.device.index] !== queue.device) throw invalidHandle(call, `${stream} belongs to another runtime`);
    if (!queue.isDefault && queue.generation !== queue.device.generation) {
      throw invalidHandle(call, `${stream} was invalidated by deviceReset(${queue.device.index})`);
    }
    if (queue.destroyed) throw invalidHandle(call, `${stream} was destroyed`);
    return queue;
  }

  /** The queue of `stream`, or of the current stream of the current device. */
  #queueOrCurrent(call: string, stream: Stream | undefined): StreamQueue {
    if (stream === undefined) {
      this.#open(call);
      return this.#currentQueueOf(call, this.#devices[this.#current.get()]!);
    }
    return this.#queue(call, stream);
  }

  #event(call: string, event: unknown): EventState {
    this.#open(call);
    if (!(event instanceof Event)) throw invalidHandle(call, `expected an Event, got ${describe(event)}`);
    const state = event[kEventState];
    if (state.owner !== this) throw invalidHandle(call, `${event} belongs to another runtime`);
    const device = this.#devices[state.device];
    if (device !== undefined && state.generation !== device.generation) throw invalidHandle(call, `${event} was invalidated by deviceReset(${state.device})`);
    if (state.destroyed) throw invalidHandle(call, `${event} was destroyed`);
    return state;
  }

  /** A wait condition that surfaces the sticky error of any device involved. */
  #until(call: string, devices: readonly Device[], done: () => boolean): () => boolean {
    return () => {
      // Completion first: a worker raises a sticky error before it publishes the failed
      // command's completion, so checking in this order never misses the error.
      const finished = done();
      for (const d of devices) d.throwIfFailed(call);
      return finished;
    };
  }

  /** Every stream position enqueued so far, on every device: what a free must wait for. */
  #allWorkFence(): Fence {
    const fence = new Fence();
    for (const d of this.#devices) if (!d.isLost) d.addToFence(fence);
    return fence;
  }

  #deviceFence(device: Device): Fence {
    const fence = new Fence();
    device.addToFence(fence);
    return fence;
  }

  /** Devices a copy involves (each must be healthy), in the order to watch them. */
  #touched(call: string, plan: CopyPlan, queue: StreamQueue): Device[] {
    const devices = this.#transfers.devicesOf(plan);
    if (!devices.includes(queue.device)) devices.push(queue.device);
    for (const d of devices) d.throwIfFailed(call);
    return devices;
  }

  /**
   * cudaMemcpy: enqueued on the legacy default stream of the device owning the source
   * (else the destination); a peer copy is also ordered with the other device's default stream.
   */
  #enqueueMemcpy(call: string, dst: unknown, src: unknown, count: unknown, kind: unknown, blocking: boolean): { enqueued: EnqueuedCopy; devices: Device[] } | undefined {
    this.#open(call);
    const plan = this.#transfers.plan(call, dst, src, count, kind);
    if (plan === undefined) return undefined;
    if (this.#transfers.isHostOnly(plan)) {
      this.#transfers.copyOnHost(plan);
      return undefined;
    }
    const involved = this.#transfers.devicesOf(plan);
    const queue = involved[0]!.defaultStream;
    const devices = this.#touched(call, plan, queue);
    const peer = involved[1]?.defaultStream;
    if (peer !== undefined && !peer.hasCompleted(peer.submitted)) queue.enqueueWait(peer.device.index, peer.index, peer.submitted, call);
    const enqueued = this.#traced(call, queue, () => this.#transfers.enqueue(call, queue, plan, blocking));
    this.#emitCopy(call, queue, plan);
    if (peer !== undefined) peer.enqueueWait(queue.device.index, queue.index, enqueued.seq, call);
    return { enqueued, devices };
  }

  #memsetDefault(call: string, ptr: unknown, value: unknown, count: unknown): { queue: StreamQueue; seq: number } | undefined {
    this.#open(call);
    const fill = this.#transfers.planMemset(call, ptr, value, count);
    if (fill === undefined) return undefined;
    fill.device.throwIfFailed(call);
    const queue = fill.device.defaultStream;
    return { queue, seq: this.#traced(call, queue, () => queue.enqueueMemset(fill.device.index, fill.offset, fill.value, fill.count, call)) };
  }

  #launchTraced(queue: StreamQueue, kernel: Kernel, args: readonly KernelArg[]): void {
    this.#profiler.call('launchKernel', queue, () => queue.enqueueKernel(kernel[kKernelId], args, 'launchKernel'));
  }

  /** Runs an enqueueing step as a profiled call when the profiler is on. */
  #traced<T>(call: string, queue: StreamQueue, fn: (correlation: number) => T): T {
    return this.#profiler.active ? this.#profiler.call(call, queue, fn) : fn(0);
  }

  /** Waits until `queue` has completed `seq`: hooks, a profiler span, the device's sticky error. */
  #synchronize(call: string, queue: StreamQueue, seq: number): Promise<void> {
    const start = this.#beginSync(call, queue.device, queue);
    return this.#waiter
      .waitAsync([queue.device], this.#until(call, [queue.device], () => queue.hasCompleted(seq)))
      .then(() => this.#syncEnd(call, queue.device, queue, start));
  }

  #synchronizeSync(call: string, queue: StreamQueue, seq: number): void {
    const start = this.#beginSync(call, queue.device, queue);
    this.#waiter.waitSync(call, [queue.device], this.#until(call, [queue.device], () => queue.hasCompleted(seq)));
    this.#syncEnd(call, queue.device, queue, start);
  }

  /** Records a synchronization span from `start` (0 = profiler was off) when the wait ends. */
  #syncEnd(call: string, device: Device, stream: StreamQueue | undefined, start: number): void {
    if (start !== 0 && this.#profiler.active) this.#profiler.hostSpan('synchronization', call, device.index, stream?.index ?? -1, start);
  }

  #emitCopy(call: string, queue: StreamQueue, plan: CopyPlan): void {
    const hooks = queue.device.hooks;
    if (hooks === undefined) return;
    hooks.emit('copy', { device: queue.device.index, stream: queue.index, bytes: plan.count, kind: this.#transfers.kindOf(plan), call });
  }

  /** Reports a synchronization to the hooks; returns its start time if the profiler runs (else 0). */
  #beginSync(call: string, device: Device, stream?: StreamQueue): number {
    const start = this.#profiler.active ? sharedClockMs() : 0;
    if (device.hooks === undefined) return start;
    device.hooks.emit('synchronization', stream === undefined ? { device: device.index, call } : { device: device.index, call, stream: stream.index });
    return start;
  }

  #onDeviceLost(device: Device): void {
    this.#hostFunctions.dropDevice(device.index);
    this.#waiter.poll();
  }
}

function requireSize(call: string, size: unknown): number {
  return requireInteger(call, 'size', size, 1);
}

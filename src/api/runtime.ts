import type { DeferredRead } from '../device/deferred-reads.js';
import { MemcpyKind } from '../memory/memcpy-kind.js';
import type { KernelArg } from '../protocol/command.js';
import { installErrorTransfer } from '../protocol/error-transfer.js';
import { requireArity } from '../errors/validate.js';
import type { DevicePtr } from '../protocol/pointer.js';
import type { RandomDType } from '../protocol/random-dtype.js';
import { CopyService } from '../runtime/copy-service.js';
import { type CloseOptions, type DeviceStats, DeviceService } from '../runtime/device-service.js';
import { type EventOptions, EventService } from '../runtime/event-service.js';
import type { Event, HandleOwner, Stream } from '../runtime/handles.js';
import { integrationContext } from '../runtime/integration-context.js';
import { KernelService, type StageArguments } from '../runtime/kernel-service.js';
import type { TensorArgument } from '../runtime/typed-launch.js';
import type { LaunchOptions } from '../runtime/launch-options.js';
import type { Kernel, KernelModule } from '../runtime/kernel-module.js';

/** An argument of a typed kernel launch: a number, a tensor operand, or a list of them. */
export type TypedKernelArgument = number | TensorArgument | readonly TensorArgument[] | undefined;
import { MemoryService, type PointerAttributes } from '../runtime/memory-service.js';
import type { RuntimeSubscriber } from '../runtime/observer.js';
import { type ResolvedRuntimeOptions, type RuntimeOptions, resolveRuntimeOptions } from '../runtime/options.js';
import type { IntegrationContext, RuntimeApi } from '../runtime/runtime-api.js';
import { RuntimeCore } from '../runtime/runtime-core.js';
import type { FaultInjector } from '../runtime/fault-injector.js';
import type { WaitOptions } from '../runtime/wait-options.js';
import { type StreamOptions, StreamService } from '../runtime/stream-service.js';
import { CachingAllocator } from '../integration/allocators/caching-allocator.js';
import { CachingHostAllocator } from '../integration/allocators/caching-host-allocator.js';
import { DeviceGuard, OptionalDeviceGuard } from '../integration/guards/device-guard.js';
import { StreamGuard } from '../integration/guards/stream-guard.js';
import { RuntimeHooks } from '../integration/hooks/runtime-hooks.js';
import { Profiler } from '../integration/profiler/profiler.js';
import { StreamSanitizer } from '../integration/sanitizer/stream-sanitizer.js';
import type { Generator } from '../integration/random/generator.js';
import { RandomFills, type RandomOptions } from '../integration/random/random-fills.js';
import { StreamWorkReceipt, type WorkReceipt } from './work-receipt.js';
import { optionsFromEnvironment } from '../runtime/environment-options.js';
import { INJECTED_FAULT_KERNEL } from '../protocol/tensor-kernel-signatures.js';
import { invalidValue } from '../errors/errors.js';


/** `source` copied into `into`, or into fresh memory given a byte count. */
function copyOut(source: Uint8Array, into: Uint8Array | number): Uint8Array {
  if (typeof into !== 'number') {
    into.set(source);
    return into;
  }
  // A typed array built from another is V8's one-copy path into fresh memory: no zero-fill first, unlike new + set.
  return new Uint8Array(source);
}

/**
 * The device runtime: the role of OpenReg's libopenreg and of the CUDA Runtime. Each
 * device is a worker thread; device memory, streams and events live in shared memory.
 * This class is the facade: each call delegates to the service of its facet.
 */
export class Runtime implements RuntimeApi, HandleOwner, AsyncDisposable {
  readonly #core: RuntimeCore;
  readonly #devices: DeviceService;
  readonly #memory: MemoryService;
  readonly #copies: CopyService;
  readonly #streams: StreamService;
  readonly #events: EventService;
  readonly #kernels: KernelService;
  readonly #ctx: IntegrationContext;
  readonly #profiler: Profiler;
  #random!: RandomFills;
  #builtins!: KernelModule;
  /** Open runtimes in creation order. */
  static readonly #live = new Set<Runtime>();
  #cachingAllocator: CachingAllocator | undefined;
  #hostAllocator: CachingHostAllocator | undefined;
  #hooks: RuntimeHooks | undefined;
  #sanitizer: StreamSanitizer | undefined;

  private constructor(options: ResolvedRuntimeOptions) {
    const core = (this.#core = new RuntimeCore(options, this));
    this.#devices = new DeviceService(core);
    this.#memory = new MemoryService(core);
    this.#copies = new CopyService(core);
    this.#streams = new StreamService(core);
    this.#events = new EventService(core);
    this.#kernels = new KernelService(core);
    this.#ctx = integrationContext(core, this, this.#memory, this.#kernels);
    this.#profiler = new Profiler(this.#ctx);
  }

  /** Starts one worker thread per device. */
  static async create(options?: RuntimeOptions): Promise<Runtime> {
    requireArity('Runtime.create', arguments, 1);
    installErrorTransfer();
    const runtime = new Runtime(resolveRuntimeOptions(options));
    try {
      await runtime.#devices.start();
      runtime.#ready();
    } catch (error) {
      await runtime.close().catch(() => undefined);
      throw error;
    }
    return runtime;
  }

  /** What a runtime sets up once its workers exist (or are starting): built-ins, random fills, the sanitizer; then it is live. */
  #ready(): void {
    this.#builtins = this.#kernels.builtinModule();
    this.#random = new RandomFills(this.#ctx, this.#builtins);
    this.#core.faultKernel = this.#builtins.getFunction(INJECTED_FAULT_KERNEL);
    if (this.#core.options.sanitize !== undefined) this.sanitizer.enable(this.#core.options.sanitize);
    if (Runtime.#pendingSeed !== undefined) this.manualSeedAll(Runtime.#pendingSeed);
    Runtime.#pendingSeed = undefined;
    Runtime.#live.add(this);
  }

  /** Options for the runtime lazy initialization starts (`init(options)`), else the environment's. */
  static #lazyOptions: RuntimeOptions | undefined;
  /** A manualSeed made before any runtime existed: the first one is seeded with it (PyTorch queues it too). */
  static #pendingSeed: number | bigint | undefined;

  /**
   * @internal The backend's runtime: the one open longest, or — when none is — one started now
   * with the `init()` options or the environment's (CUDA's lazy initialization). Its workers
   * start in the background; commands wait in their rings until they do.
   */
  static backend(call: string): Runtime {
    const open = Runtime.primary();
    if (open !== undefined) return open;
    installErrorTransfer();
    const runtime = new Runtime(Runtime.#lazyResolved(call));
    runtime.#devices.spawn();
    runtime.#ready();
    return runtime;
  }

  /** @internal `init(options)`: the options lazy initialization uses; refused once a runtime is open. */
  static configureLazy(call: string, options: RuntimeOptions | undefined): void {
    if (Runtime.primary() !== undefined) throw invalidValue(call, 'a runtime is already open: init() configures the one the first use of a device starts');
    const copy = options === undefined ? undefined : { ...options };
    // Checked before it is kept: refused options leave the earlier ones in place.
    resolveRuntimeOptions(copy ?? {});
    Runtime.#lazyOptions = copy;
  }

  /** @internal The device count lazy initialization would give, without starting anything (`deviceCount()` before first use). */
  static lazyDeviceCount(call: string): number {
    return Runtime.primary()?.getDeviceCount() ?? Runtime.#lazyResolved(call).deviceCount;
  }

  /** The options lazy initialization starts a runtime with: init()'s, else the environment's. */
  static #lazyResolved(call: string): ResolvedRuntimeOptions {
    return resolveRuntimeOptions(Runtime.#lazyOptions ?? optionsFromEnvironment(call));
  }

  /** @internal Seeds the runtime lazy initialization will start (a manualSeed before first use). */
  static seedLazy(seed: number | bigint): void {
    Runtime.#pendingSeed = seed;
  }

  /**
   * @internal The backend's runtime: the one open longest, which `openreg` devices mean unless a
   * device names its runtime (CUDA's primary context; runtimes made while it is open are
   * driver-level handles until it closes).
   */
  static primary(): Runtime | undefined {
    for (const rt of Runtime.#live) return rt;
    return undefined;
  }

  /** The options the runtime was created with, defaults filled in. */
  get options(): Readonly<ResolvedRuntimeOptions> {
    return this.#core.options;
  }

  // ------------------------------------------------------------ lifecycle
  /** Waits for enqueued work (at most `timeoutMs`, 30 s by default; none with `force`), then terminates every worker. Idempotent. */
  close(options?: CloseOptions): Promise<void> {
    Runtime.#live.delete(this);
    return this.#devices.close(options);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * @internal True when a blocking wait cannot deadlock: no host function is pending, running or
   * awaiting (they run on this thread, which the wait would hold).
   */
  canWaitSync(): boolean {
    const h = this.#core.hostFunctions;
    // A lazily started worker that has not answered yet may never start: do not block on it.
    return !h.pending && !h.asyncInFlight && !h.insideHostFunction && this.#core.devices.every((d) => d.answered || d.isLost);
  }

  /**
   * @internal Copies the bytes at `ptr` out at once when `stream` has nothing pending and its
   * device no error (no wait of any kind): into `into`, or, given a byte count, into fresh
   * memory; undefined when it cannot.
   */
  copyOutNow(call: string, stream: Stream, ptr: DevicePtr, into: Uint8Array | number): Uint8Array | undefined {
    const queue = this.#core.queue(call, stream);
    if (!queue.readyNow) return undefined;
    queue.device.throwIfFailed(call);
    const n = typeof into === 'number' ? into : into.byteLength;
    const { device, offset } = this.#core.transfers.deviceRange(call, ptr, n);
    return copyOut(device.heapBytes.subarray(offset, offset + n), into);
  }

  /**
   * @internal The bytes at `ptr` as of this call, in `stream`'s order, in one copy: once the
   * stream has done its work they are copied straight out of device memory (into `into`, or
   * fresh memory given a byte count). Anything enqueued meanwhile first stages the copy into
   * pinned memory at the call's position, so later work cannot change what is read.
   * Undefined when the read would need implicit ordering against other streams (the legacy
   * default stream's) or the sanitizer watches: then the caller stages it itself.
   */
  readWhenReached(call: string, stream: Stream, ptr: DevicePtr, into: Uint8Array | number, options: WaitOptions | undefined): Promise<Uint8Array> | undefined {
    const core = this.#core;
    const queue = core.queue(call, stream);
    const device = core.devices[queue.device.index]!;
    const ordered = queue.nonBlocking || (queue.isDefault ? device.blockingStreams.length === 0 : device.defaultStream.idle);
    if (!ordered || this.sanitizer.enabled) return undefined;
    const n = typeof into === 'number' ? into : into.byteLength;
    const { offset } = core.transfers.deviceRange(call, ptr, n);
    const generation = device.generation;
    let staged: Uint8Array | undefined;
    let stageFailure: { error: unknown } | undefined;
    const read: DeferredRead = {
      stage: () => {
        // Runs inside someone else's enqueue: a failure here is this read's, not theirs.
        try {
          staged = this.hostAllocator.allocate(n);
          this.memcpyAsync(staged, ptr, n, MemcpyKind.deviceToHost, stream);
        } catch (error) {
          stageFailure = { error };
        }
      },
    };
    core.deferredReads.add(read);
    return (async () => {
      try {
        await this.streamSynchronize(stream, options);
        if (core.deferredReads.take(read)) {
          // Nothing was enqueued since the call: device memory holds the bytes as of then.
          if (device.generation !== generation) throw invalidValue(call, `device ${device.index} was reset while the read waited`, ptr);
          device.throwIfFailed(call);
          return copyOut(device.heapBytes.subarray(offset, offset + n), into);
        }
        if (stageFailure !== undefined) throw stageFailure.error;
        await this.streamSynchronize(stream, options);
        return copyOut(staged!.subarray(0, n), into);
      } finally {
        core.deferredReads.take(read);
        if (staged !== undefined) this.hostAllocator.free(staged);
      }
    })();
  }

  /** @internal Bytes of memory each device has (Runtime.create's deviceMemoryBytes). */
  get deviceMemoryBytes(): number {
    return this.#core.options.deviceMemoryBytes;
  }

  /** @internal A kernel of the built-in module (the tensor kernels, the random fills). */
  builtinKernel(name: string): Kernel {
    return this.#builtins.getFunction(name);
  }

  /**
   * @internal A receipt for the work enqueued on `stream` so far: later it tells whether that
   * work really ran, and if not, the error of the device that skipped it (or dropped it in a reset).
   */
  workReceipt(call: string, stream: Stream): WorkReceipt {
    const queue = this.#core.queue(call, stream);
    return new StreamWorkReceipt(queue, this.#core.devices[queue.device.index]!, {
      wait: (options) => this.streamSynchronize(stream, options),
      waitSync: (options) => this.streamSynchronizeSync(stream, options),
    });
  }


  /** @internal Enqueues a collective's work (`fn`) on `streams`, one per rank, as one observable collective. */
  collective<T>(call: string, streams: readonly Stream[], bytes: number, fn: () => T): T {
    return this.#core.collective(call, streams, bytes, fn);
  }

  get closed(): boolean {
    return this.#core.closed;
  }

  /** Subscribes to the observer channel (the one hooks and the profiler use); returns the disposer. */
  observe(subscriber: RuntimeSubscriber): () => void {
    this.#core.open('observe');
    return this.#core.observer.subscribe(subscriber);
  }

  // ------------------------------------------------------------ devices
  getDeviceCount(): number {
    return this.#devices.getDeviceCount();
  }

  /** Current device of the calling async context (0 by default). */
  getDevice(): number {
    return this.#devices.getDevice();
  }

  setDevice(device: number): void {
    this.#devices.setDevice(device);
  }

  /** Sets the current device and returns the previous one. */
  exchangeDevice(device: number): number {
    return this.#devices.exchangeDevice(device);
  }

  /** The device guard as a scope: `fn` runs with current device `device`; the caller's is untouched, whether `fn` returns, throws or awaits. */
  withDevice<T>(device: number, fn: () => T): T {
    return this.#devices.withDevice(device, fn);
  }

  /** Resolves once all work enqueued so far on the current device has completed; `options` bound the wait. */
  deviceSynchronize(options?: WaitOptions): Promise<void> {
    return this.#devices.deviceSynchronize(options);
  }

  /** Blocks until all work enqueued so far on the current device has completed (at most `options.timeoutMs`). */
  deviceSynchronizeSync(options?: Pick<WaitOptions, 'timeoutMs'>): void {
    this.#devices.deviceSynchronizeSync(options);
  }

  /** `{ least: 0, greatest: -5 }`: lower number = higher priority, as CUDA. */
  deviceGetStreamPriorityRange(): { least: number; greatest: number } {
    return this.#devices.deviceGetStreamPriorityRange();
  }

  /** Clears `device`'s sticky error: its pending work is discarded, its memory freed, its streams and events invalidated. A lost device gets a new worker. */
  deviceReset(device: number): Promise<void> {
    return this.#devices.deviceReset(device);
  }

  /** Counters kept by the device's worker, plus its memory use. */
  deviceStats(device: number): Promise<DeviceStats> {
    return this.#devices.deviceStats(device);
  }

  // ------------------------------------------------------------ memory
  /** Device memory on the current device, 256-byte aligned (`cudaMalloc`). */
  malloc(size: number): DevicePtr {
    return this.#memory.malloc(size);
  }

  /** Frees device memory; it is reused only after all work enqueued before the free has completed. */
  free(ptr: DevicePtr): void {
    this.#memory.free(ptr);
  }

  /** Pinned host memory: a Uint8Array over shared memory, copied to and from asynchronously. */
  mallocHost(size: number): Uint8Array {
    return this.#memory.mallocHost(size);
  }

  freeHost(view: ArrayBufferView): void {
    this.#memory.freeHost(view);
  }

  /** True for a pinned allocation or any view inside one. */
  isPinned(view: ArrayBufferView): boolean {
    return this.#memory.isPinned(view);
  }

  pointerGetAttributes(ptr: DevicePtr | ArrayBufferView): PointerAttributes {
    return this.#memory.pointerGetAttributes(ptr);
  }

  /** Free and total bytes of the current device's memory. */
  memGetInfo(): { free: number; total: number } {
    return this.#memory.memGetInfo();
  }

  // ------------------------------------------------------------ copies
  /** Copies `count` bytes and resolves when done (`cudaMemcpy`), on the legacy default stream. */
  memcpy(dst: DevicePtr | ArrayBufferView, src: DevicePtr | ArrayBufferView, count: number, kind: MemcpyKind = MemcpyKind.default): Promise<void> {
    return this.#copies.memcpy(dst, src, count, kind);
  }

  memcpySync(dst: DevicePtr | ArrayBufferView, src: DevicePtr | ArrayBufferView, count: number, kind: MemcpyKind = MemcpyKind.default): void {
    this.#copies.memcpySync(dst, src, count, kind);
  }

  /** Enqueues a copy on `stream` (`cudaMemcpyAsync`): pageable sources are captured before it returns; to pageable memory it returns once the copy is done. */
  memcpyAsync(dst: DevicePtr | ArrayBufferView, src: DevicePtr | ArrayBufferView, count: number, kind: MemcpyKind = MemcpyKind.default, stream?: Stream): void {
    this.#copies.memcpyAsync(dst, src, count, kind, stream);
  }

  /** Fills device memory with a byte and resolves when done (`cudaMemset`). */
  memset(ptr: DevicePtr, value: number, count: number): Promise<void> {
    return this.#copies.memset(ptr, value, count);
  }

  memsetSync(ptr: DevicePtr, value: number, count: number): void {
    this.#copies.memsetSync(ptr, value, count);
  }

  memsetAsync(ptr: DevicePtr, value: number, count: number, stream?: Stream): void {
    this.#copies.memsetAsync(ptr, value, count, stream);
  }

  // ------------------------------------------------------------ streams
  /** A new stream on the current device. */
  streamCreate(options?: StreamOptions): Stream {
    return this.#streams.streamCreate(options);
  }

  /** The legacy default stream of `device` (default: the current device). */
  defaultStream(device?: number): Stream {
    return this.#streams.defaultStream(device);
  }

  streamGetPriority(stream: Stream): number {
    return this.#streams.streamGetPriority(stream);
  }

  /** True iff all work enqueued on the stream has finished. */
  streamQuery(stream: Stream): boolean {
    return this.#streams.streamQuery(stream);
  }

  /** Resolves once all work enqueued on `stream` so far has completed; `options` bound the wait. */
  streamSynchronize(stream: Stream, options?: WaitOptions): Promise<void> {
    return this.#streams.streamSynchronize(stream, options);
  }

  streamSynchronizeSync(stream: Stream, options?: Pick<WaitOptions, 'timeoutMs'>): void {
    this.#streams.streamSynchronizeSync(stream, options);
  }

  /** Later work on `stream` waits for the event's most recent record as of this call; a never-recorded event is a no-op. */
  streamWaitEvent(stream: Stream, event: Event): void {
    this.#streams.streamWaitEvent(stream, event);
  }

  /** Later work on `stream` waits for all work enqueued on `other` so far. */
  streamWaitStream(stream: Stream, other: Stream): void {
    this.#streams.streamWaitStream(stream, other);
  }

  /** Work already enqueued still completes; further use of the stream is an error. */
  streamDestroy(stream: Stream): void {
    this.#streams.streamDestroy(stream);
  }

  /** A stream from the device's pool (`getStreamFromPool`): 32 non-blocking streams per priority, created on first use, handed out round-robin. */
  getStreamFromPool(options?: { highPriority?: boolean; device?: number }): Stream {
    return this.#streams.getStreamFromPool(options);
  }

  /** The current stream of `device` (default: the current device) in this async context. */
  getCurrentStream(device?: number): Stream {
    return this.#streams.getCurrentStream(device);
  }

  /** Makes `stream` the current stream of its device in this async context (the current device is unchanged). */
  setCurrentStream(stream: Stream): void {
    this.#streams.setCurrentStream(stream);
  }

  /** The stream guard as a scope: `fn` runs with `stream` current and its device current; both are restored after. */
  withStream<T>(stream: Stream, fn: () => T): T {
    return this.#streams.withStream(stream, fn);
  }

  /** `using guard = rt.deviceGuard(d)`: device `d` until the block ends. */
  deviceGuard(device: number): DeviceGuard {
    return new DeviceGuard(this, this.#ctx.deviceIndex('deviceGuard', device));
  }

  /** `using guard = rt.optionalDeviceGuard(d?)`: a guard that may hold no device. */
  optionalDeviceGuard(device?: number | null): OptionalDeviceGuard {
    const call = 'optionalDeviceGuard';
    this.#ctx.open(call);
    return new OptionalDeviceGuard(this, device === undefined || device === null ? undefined : this.#ctx.deviceIndex(call, device));
  }

  /** `using guard = rt.streamGuard(s)`: `s` and its device are current until the block ends. */
  streamGuard(stream: Stream): StreamGuard {
    return new StreamGuard(this, this.#ctx.stream('streamGuard', stream));
  }

  // ------------------------------------------------------------ events
  /** A new event on the current device; timing is on unless `disableTiming`. */
  eventCreate(options?: EventOptions): Event {
    return this.#events.eventCreate(options);
  }

  /** An event bound to a device when first recorded, on the recording stream's device (`torch.cuda.Event`). */
  lazyEvent(options?: EventOptions): Event {
    return this.#events.lazyEvent(options);
  }

  /** Captures all work enqueued on `stream` (default: the current stream) so far; re-recording replaces the capture. */
  eventRecord(event: Event, stream?: Stream): void {
    this.#events.eventRecord(event, stream);
  }

  /** True once the captured work has completed (a never-recorded event is complete). */
  eventQuery(event: Event): boolean {
    return this.#events.eventQuery(event);
  }

  /** Resolves once the event's captured work has completed; `options` bound the wait. */
  eventSynchronize(event: Event, options?: WaitOptions): Promise<void> {
    return this.#events.eventSynchronize(event, options);
  }

  eventSynchronizeSync(event: Event, options?: Pick<WaitOptions, 'timeoutMs'>): void {
    this.#events.eventSynchronizeSync(event, options);
  }

  /** Milliseconds between the completion of two events' records, on the shared clock. */
  eventElapsedTime(start: Event, end: Event): number {
    return this.#events.eventElapsedTime(start, end);
  }

  /** Further use is an error; waits already enqueued on the event still resolve. */
  eventDestroy(event: Event): void {
    this.#events.eventDestroy(event);
  }

  // ------------------------------------------------------------ kernels
  /** Imports an ES module of kernels in every device worker. */
  loadModule(url: string | URL, options?: WaitOptions): Promise<KernelModule> {
    return this.#kernels.loadModule(url, options);
  }

  /**
   * Enqueues `kernel(ctx, ...args)` on the stream's device (`cudaLaunchKernel`); a typed
   * kernel (one with a `signature`) takes its arguments by name: `kernel(ctx, { x, n })`.
   */
  launchKernel(kernel: Kernel, args: readonly KernelArg[] | Readonly<Record<string, TypedKernelArgument>>, stream?: Stream | LaunchOptions): void {
    this.#kernels.launchKernel(kernel, args, stream, this.#stageArguments);
  }

  /**
   * @internal A typed launch already encoded (the tensor executors'): `count` words of `words`
   * on `stream`; `accesses` are the bytes it reads and writes, for the sanitizer.
   */
  launchEncoded(call: string, kernel: Kernel, words: Float64Array, count: number, stream: Stream, accesses?: LaunchOptions): void {
    this.#kernels.launchTyped(call, kernel, words, count, stream, accesses, this.#stageArguments);
  }

  /** An argument block too long for a command goes through device memory, copied in the stream's order. */
  readonly #stageArguments: StageArguments = (queue, words, count) => {
    const stream = this.#core.handleOf(queue);
    const block = this.cachingAllocator.allocate(count * 8, stream);
    try {
      this.memcpyAsync(block.ptr, words.subarray(0, count), count * 8, MemcpyKind.hostToDevice, stream);
    } catch (error) {
      this.cachingAllocator.free(block);
      throw error;
    }
    // Freed once the launch is enqueued: only later work on this stream can reuse it.
    return { ptr: block.ptr, release: () => this.cachingAllocator.free(block) };
  };

  /** Runs `fn` on the main thread once earlier work on `stream` has completed; later work waits until it returns (or its promise settles). */
  launchHostFunc(stream: Stream | undefined, fn: () => unknown): void {
    this.#kernels.launchHostFunc(stream, fn);
  }

  // ------------------------------------------------------------ integration
  /** The caching device allocator (PyTorch's CUDA caching allocator semantics), created on first use. */
  get cachingAllocator(): CachingAllocator {
    this.#core.open('cachingAllocator');
    return (this.#cachingAllocator ??= new CachingAllocator(this.#ctx));
  }

  /** The caching pinned host allocator (PyTorch's CachingHostAllocator semantics), created on first use. */
  get hostAllocator(): CachingHostAllocator {
    this.#core.open('hostAllocator');
    return (this.#hostAllocator ??= new CachingHostAllocator(this.#ctx));
  }

  /** The profiler: API calls and device execution on one clock, exported as a Chrome trace. */
  get profiler(): Profiler {
    this.#core.open('profiler');
    return this.#profiler;
  }

  /** OpenReg's hooks interface: backend capabilities, and per-device observable hooks. */
  /** Starts, re-seeds or (undefined) stops schedule fuzzing on every device (`{ seed, maxDelayUs }`, as Runtime.create's `schedule`). */
  setSchedule(schedule: { seed: number; mode?: 'random'; maxDelayUs?: number } | undefined): Promise<void> {
    return this.#devices.setSchedule(schedule);
  }

  /** Deterministic fault injection: `faults.inject({ device, at: 'kernel', nth: 3, error: 'ERR_LAUNCH_FAILURE' })`. */
  get faults(): FaultInjector {
    return this.#core.faults;
  }

  /** The stream sanitizer: `enable({ mode })` reports data races between streams as ERR_DATA_RACE. */
  get sanitizer(): StreamSanitizer {
    return (this.#sanitizer ??= new StreamSanitizer(this.#ctx));
  }

  get hooks(): RuntimeHooks {
    this.#core.open('hooks');
    return (this.#hooks ??= new RuntimeHooks(this.#ctx, this.#random, () => this.hostAllocator));
  }

  // ------------------------------------------------------------ random numbers
  /** The default Philox generator of `device` (default: the current device), created on first use. */
  defaultGenerator(device?: number): Generator {
    return this.#random.defaultGenerator(device);
  }

  /** A new generator for `device` (default: the current device), with the default seed. */
  newGenerator(device?: number): Generator {
    return this.#random.newGenerator(device);
  }

  /** Seeds the current device's default generator (its offset goes back to 0). */
  manualSeed(seed: number | bigint): void {
    this.#random.manualSeed(seed);
  }

  /** Seeds every device's default generator. */
  manualSeedAll(seed: number | bigint): void {
    this.#random.manualSeedAll(seed);
  }

  /** Seeds the current device's default generator nondeterministically; returns the seed. */
  seed(): bigint {
    return this.#random.seed();
  }

  initialSeed(): bigint {
    return this.#random.initialSeed();
  }

  /** Fills `count` elements at `ptr` with uniform values in [0, 1) (float32 or float64). */
  randomUniform(ptr: DevicePtr, count: number, options?: RandomOptions<'float32' | 'float64'>): void {
    this.#random.randomUniform(ptr, count, options);
  }

  /** Fills `count` elements at `ptr` with normal values (float32 or float64). */
  randomNormal(ptr: DevicePtr, count: number, options?: RandomOptions<'float32' | 'float64'> & { mean?: number; std?: number }): void {
    this.#random.randomNormal(ptr, count, options);
  }

  /** Fills `count` elements at `ptr` with integers uniform in [low, high) (int32, float32 or float64). */
  randomInt(ptr: DevicePtr, count: number, low: number, high: number, options?: RandomOptions<RandomDType>): void {
    this.#random.randomInt(ptr, count, low, high, options);
  }
}

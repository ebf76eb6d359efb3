import type { ResourceLimits } from 'node:worker_threads';
import { FaultInjector } from './fault-injector.js';
import { kKernelId } from './symbols.js';
import type { Kernel } from './kernel-module.js';
import { invalidHandle, openRegError, runtimeClosed } from '../errors/errors.js';
import type { OpenRegError } from '../errors/openreg-error.js';
import { describe } from '../errors/openreg-error.js';
import { requireDevice } from '../errors/validate.js';
import { Backlogs } from '../device/backlogs.js';
import { Device, type DeviceHost, type SharedWorkerInit } from '../device/device.js';
import { HostFunctions } from '../device/host-functions.js';
import { DeferredReads } from '../device/deferred-reads.js';
import { HostWaiter, type WaitBounds, type Watchable } from '../device/host-waiter.js';
import type { StreamQueue } from '../device/stream-queue.js';
import { HostMemory } from '../memory/host-memory.js';
import { sharedClockMs } from '../protocol/clock.js';
import { Fence } from '../protocol/fence.js';
import { RUNTIME_BLOCK_BYTES } from '../protocol/layout.js';
import { CallCorrelation } from './call-correlation.js';
import { CurrentDevice } from './current-device.js';
import { EventTable } from './event-table.js';
import { Event, type EventState, type HandleOwner, Stream } from './handles.js';
import { RuntimeObserver, type WaitCause } from './observer.js';
import type { ResolvedRuntimeOptions } from './options.js';
import { StreamPools } from './stream-pools.js';
import { syncTimeoutOf, waitBoundsOf } from './wait-options.js';
import { kEventState, kQueue } from './symbols.js';
import { Transfers } from './transfers.js';

/**
 * The state every runtime service shares — devices, host memory, waiting, the current
 * device, the observer channel — and the checks every public call starts with. Services
 * hold the mechanism; this holds what they have in common.
 */
export class RuntimeCore implements DeviceHost {
  readonly options: Readonly<ResolvedRuntimeOptions>;
  /** The facade: the owner of every handle this runtime makes. */
  readonly owner: HandleOwner;
  readonly devices: Device[] = [];
  readonly runtimeBlock = new SharedArrayBuffer(RUNTIME_BLOCK_BYTES);
  readonly runtimeWords = new Int32Array(this.runtimeBlock);
  readonly runtimeF64 = new Float64Array(this.runtimeBlock);
  readonly host: HostMemory;
  readonly hostFunctions = new HostFunctions();
  readonly deferredReads = new DeferredReads();
  /** Faults armed by rt.faults.inject, and the built-in kernel that carries them out. */
  readonly faults = new FaultInjector((call, device) => this.deviceOrCurrent(call, device));
  faultKernel: Kernel | undefined;
  /** The schedule fuzzing in force (a restarted worker starts with it). */
  schedule: { seed: number; maxDelayUs: number } | undefined;
  // A new backlog arms the dispatcher; it flushes from the event loop, never inside the enqueue.
  readonly backlogs = new Backlogs(() => this.waiter.arm());
  // A blocked main thread runs no timers: its waits check the watchdog between slices.
  readonly waiter = new HostWaiter(this.runtimeWords, this.hostFunctions, this.backlogs, () => this.checkKernels());
  readonly transfers: Transfers;
  readonly current = new CurrentDevice();
  readonly pools = new StreamPools();
  readonly events = new EventTable();
  readonly observer = new RuntimeObserver(() => this.#observersChanged());
  readonly correlation = new CallCorrelation();
  /** Names of loaded kernels by id, for traces and observers. */
  readonly kernelNames = new Map<number, string>();
  /** Modules that loaded, reloaded into a restarted worker. */
  readonly modules: { id: number; url: string }[] = [];
  /** The legacy default stream of each device (it outlives resets). */
  readonly defaultStreams: Stream[] = [];
  /** Span of the traced call running now (0 when none). */
  currentSpan = 0;
  /** Last span id handed out: each traced call gets its own, whatever its correlation id. */
  #lastSpan = 0;
  closed = false;
  readonly #handles = new WeakMap<StreamQueue, Stream>();
  #watchdog: NodeJS.Timeout | undefined;

  constructor(options: ResolvedRuntimeOptions, owner: HandleOwner) {
    this.options = Object.freeze(options);
    this.owner = owner;
    this.schedule = options.schedule;
    this.host = new HostMemory(options.stagingBytes, options.hostMemoryBytes);
    for (let d = 0; d < options.deviceCount; d++) {
      const device = new Device(this, d, options.deviceMemoryBytes);
      this.devices.push(device);
      this.defaultStreams.push(this.newStream(device.defaultStream));
    }
    this.transfers = new Transfers(this.devices, this.host, this.waiter, options.enqueueTimeoutMs);
  }

  // ------------------------------------------------------------ watchdog

  /** With kernelTimeoutMs, checks kernel run times from a timer that does not keep the process alive. */
  startWatchdog(): void {
    const limit = this.options.kernelTimeoutMs;
    if (limit === undefined || this.#watchdog !== undefined) return;
    this.#watchdog = setInterval(() => this.checkKernels(), Math.min(100, Math.max(1, limit / 4)));
    this.#watchdog.unref();
  }

  stopWatchdog(): void {
    clearInterval(this.#watchdog);
    this.#watchdog = undefined;
  }

  /** Fails every device whose running kernel has outlived kernelTimeoutMs. */
  checkKernels(): void {
    const limit = this.options.kernelTimeoutMs;
    if (limit === undefined) return;
    const now = sharedClockMs();
    for (const d of this.devices) d.checkKernelTime(limit, now);
  }

  // ------------------------------------------------------------ device host

  /** How long an enqueue may block on a full ring (Runtime.create's enqueueTimeoutMs). */
  get enqueueTimeoutMs(): number {
    return this.options.enqueueTimeoutMs;
  }

  /** Limits of each device worker (Runtime.create's workerResourceLimits). */
  get resourceLimits(): ResourceLimits | undefined {
    return this.options.workerResourceLimits;
  }

  onLost(device: Device): void {
    this.hostFunctions.dropDevice(device.index);
    this.waiter.poll();
  }

  onError(device: Device, error: OpenRegError): void {
    if (this.observer.listeners.error !== undefined) this.observer.emit('error', { device: device.index, error });
  }

  /** What every device worker starts with. */
  workerInit(): SharedWorkerInit {
    return {
      controls: this.devices.map((d) => d.controlBuffer),
      heaps: this.devices.map((d) => d.heap),
      memories: this.devices.map((d) => d.wasmMemory),
      runtimeBlock: this.runtimeBlock,
      hostPool: this.host.pool,
      watchdog: this.options.kernelTimeoutMs !== undefined,
      schedule: this.schedule,
    };
  }

  // ------------------------------------------------------------ handles

  /** The handle of a new stream queue. */
  newStream(queue: StreamQueue): Stream {
    const stream = new Stream(queue, this.owner);
    this.#handles.set(queue, stream);
    return stream;
  }

  /** The one handle of `queue`. */
  handleOf(queue: StreamQueue): Stream {
    return this.#handles.get(queue)!;
  }

  // ------------------------------------------------------------ checks

  open(call: string): void {
    if (this.closed) throw runtimeClosed(call);
  }

  /** A valid device index of this open runtime. */
  deviceIndex(call: string, device: unknown): number {
    this.open(call);
    return requireDevice(call, device, this.devices.length);
  }

  /** `device`, or the current device when undefined. */
  deviceOrCurrent(call: string, device: unknown): number {
    if (device !== undefined) return this.deviceIndex(call, device);
    this.open(call);
    return this.current.get();
  }

  /** The current device, which must have no sticky error. */
  currentDevice(call: string): Device {
    this.open(call);
    const device = this.devices[this.current.get()]!;
    device.throwIfFailed(call);
    return device;
  }

  /** The queue of a live stream handle of this runtime. */
  queue(call: string, stream: unknown): StreamQueue {
    this.open(call);
    if (!(stream instanceof Stream)) throw invalidHandle(call, `expected a Stream, got ${describe(stream)}`);
    const queue = stream[kQueue];
    if (queue === undefined) throw openRegError('malformedHandle', { call, what: describe(stream), kind: 'Stream' });
    if (this.devices[queue.device.index] !== queue.device) throw invalidHandle(call, `${stream} belongs to another runtime`);
    if (!queue.isDefault && queue.generation !== queue.device.generation) {
      throw invalidHandle(call, `${stream} was invalidated by deviceReset(${queue.device.index})`);
    }
    if (queue.destroyed) throw invalidHandle(call, `${stream} was destroyed`);
    return queue;
  }

  /** The queue of `stream`, or of the current stream of the current device. */
  queueOrCurrent(call: string, stream: unknown): StreamQueue {
    if (stream !== undefined) return this.queue(call, stream);
    this.open(call);
    return this.currentQueueOf(call, this.devices[this.current.get()]!);
  }

  /**
   * The current stream of a given device. One destroyed, or invalidated by a reset, since
   * it was made current is no longer current: the device's default stream is.
   */
  currentQueueOf(call: string, device: Device): StreamQueue {
    const current = this.current.stream(device.index);
    if (current === undefined) return device.defaultStream;
    const queue = current[kQueue];
    if (queue.destroyed || queue.generation !== device.generation) {
      this.current.setStream(device.index, undefined);
      return device.defaultStream;
    }
    return this.queue(call, current);
  }

  /** The state of a live event handle of this runtime. */
  event(call: string, event: unknown): EventState {
    this.open(call);
    if (!(event instanceof Event)) throw invalidHandle(call, `expected an Event, got ${describe(event)}`);
    const state = event[kEventState];
    if (typeof state !== 'object' || state === null) throw openRegError('malformedHandle', { call, what: describe(event), kind: 'Event' });
    if (state.owner !== this.owner) throw invalidHandle(call, `${event} belongs to another runtime`);
    const device = this.devices[state.device];
    if (device !== undefined && state.generation !== device.generation) throw invalidHandle(call, `${event} was invalidated by deviceReset(${state.device})`);
    if (state.destroyed) throw invalidHandle(call, `${event} was destroyed`);
    return state;
  }

  // ------------------------------------------------------------ waiting

  /** A wait condition that surfaces the sticky error of any device involved. */
  until(call: string, devices: readonly { throwIfFailed(call: string): void }[], done: () => boolean): () => boolean {
    return () => {
      // Completion first: a worker raises a sticky error before it publishes the failed
      // command's completion, so checking in this order never misses the error.
      const finished = done();
      for (const d of devices) d.throwIfFailed(call);
      return finished;
    };
  }

  /** Every stream position enqueued so far, on every device: what a free must wait for. */
  allWorkFence(): Fence {
    const fence = new Fence();
    for (const d of this.devices) if (!d.isLost) d.addToFence(fence);
    return fence;
  }

  /** What a free of `device`'s memory waits for: the work that may still touch that memory. */
  memoryFence(device: Device): Fence {
    const fence = new Fence();
    device.addMemoryUsersToFence(fence);
    return fence;
  }

  deviceFence(device: Device): Fence {
    const fence = new Fence();
    device.addToFence(fence);
    return fence;
  }

  /** Waits until `queue` has completed `seq`, reporting the synchronization to observers. */
  synchronize(call: string, queue: StreamQueue, seq: number, event: Event | undefined, bounds: WaitBounds | undefined): Promise<void> {
    // The stream cannot pass a host function that is itself waiting for this: a deadlock.
    if (this.hostFunctions.waitsForItself(queue, seq)) return Promise.reject(openRegError('awaitsOwnHostFunction', { call }));
    const start = this.beginSync(call, queue.device.index, queue, event);
    return this.waiter
      .waitAsync([queue.position(seq)], this.until(call, [queue.device], () => queue.hasCompleted(seq)), bounds)
      .then(() => this.endSync(call, queue.device.index, queue, event, start));
  }

  synchronizeSync(call: string, queue: StreamQueue, seq: number, event: Event | undefined, timeoutMs: number): void {
    const start = this.beginSync(call, queue.device.index, queue, event);
    this.waitSync(call, [queue.position(seq)], this.until(call, [queue.device], () => queue.hasCompleted(seq)), timeoutMs);
    this.endSync(call, queue.device.index, queue, event, start);
  }

  /** A blocking wait bounded by `timeoutMs`: past it, ERR_TIMEOUT. */
  waitSync(call: string, watch: readonly Watchable[], ready: () => boolean, timeoutMs: number): void {
    if (!this.waiter.waitSync(call, watch, ready, timeoutMs)) throw openRegError('waitTimedOut', { call, ms: timeoutMs });
  }

  /** The bounds a Promise wait's options ask for; undefined for none. */
  waitBounds(call: string, options: unknown): WaitBounds | undefined {
    return waitBoundsOf(call, options);
  }

  /** The bound a blocking wait's options ask for (Infinity for none). */
  syncTimeout(call: string, options: unknown): number {
    return syncTimeoutOf(call, options);
  }

  // ------------------------------------------------------------ observing

  /** Reports a synchronization's start; returns its start time when timing is on (else 0). */
  beginSync(call: string, device: number, queue?: StreamQueue, event?: Event): number {
    const start = this.observer.timing ? sharedClockMs() : 0;
    if (this.observer.listeners.synchronization !== undefined) {
      this.observer.emit('synchronization', { device, call, stream: queue && this.handleOf(queue), event });
    }
    return start;
  }

  endSync(call: string, device: number, queue: StreamQueue | undefined, event: Event | undefined, start: number): void {
    if (this.observer.listeners.synchronized === undefined) return;
    this.observer.emit('synchronized', { device, call, stream: queue && this.handleOf(queue), event, start, end: start === 0 ? 0 : sharedClockMs() });
  }

  /** Runs an enqueueing step; while timing is on, as an API-call span (of `bytes`) whose commands carry its correlation id. */
  traced<T>(call: string, queue: StreamQueue, fn: () => T, bytes = 0): T {
    if (!this.observer.timing) return fn();
    const correlation = this.correlation.next();
    // Commands carry the call's span, unique per call: many calls may share a user's correlation id.
    const span = (this.#lastSpan = (this.#lastSpan + 1) & 0x7fffffff || 1);
    const start = sharedClockMs();
    queue.correlation = this.currentSpan = span;
    try {
      return fn();
    } finally {
      queue.correlation = this.currentSpan = 0;
      this.observer.emit('apiCall', { call, device: queue.device.index, stream: queue.index, start, end: sharedClockMs(), bytes, correlation, span });
    }
  }

  /** Runs `fn`, which enqueues a collective's work on `streams` (one per rank), and reports it with the spans of the calls it made. */
  collective<T>(call: string, streams: readonly Stream[], bytes: number, fn: () => T): T {
    if (this.observer.listeners.collective === undefined) return fn();
    const timing = this.observer.timing;
    const firstSpan = timing ? this.#lastSpan + 1 : 0;
    const start = timing ? sharedClockMs() : 0;
    try {
      return fn();
    } finally {
      const devices = streams.map((s) => s.device);
      this.observer.emit('collective', { call, devices, streams, bytes, start, end: timing ? sharedClockMs() : 0, firstSpan, lastSpan: timing ? this.#lastSpan : 0 });
    }
  }

  /** Reports a call that enqueues nothing (an allocation) as a host span from `start` (0: timing was off). */
  hostSpan(call: string, device: number, start: number, bytes = 0): void {
    if (start !== 0 && this.observer.timing) {
      this.observer.emit('apiCall', { call, device, stream: -1, start, end: sharedClockMs(), bytes, correlation: 0, span: 0 });
    }
  }

  /** Enqueues a wait of `queue` until `on` has completed `onSeq`, and reports it. */
  enqueueWait(call: string, queue: StreamQueue, on: StreamQueue, onSeq: number, cause: WaitCause, event?: Event, fromSpan = 0): number {
    const seq = queue.enqueueWait(on, onSeq, call);
    if (this.observer.listeners.streamWait !== undefined) this.#emitWait(call, queue, seq, on, onSeq, cause, event, fromSpan, true);
    return seq;
  }

  /** Enqueues the built-in kernel that fails with error number `code` in place of the command a fault chose. */
  launchFault(call: string, queue: StreamQueue, code: number): number {
    return queue.enqueueKernel(this.faultKernel![kKernelId], [code], call);
  }

  /** A wait with nothing left to wait for enqueues no command, but observers (the sanitizer) still learn the ordering. */
  noteSkippedWait(call: string, queue: StreamQueue, on: StreamQueue, onSeq: number, cause: WaitCause, event?: Event): void {
    if (this.observer.listeners.streamWait !== undefined) this.#emitWait(call, queue, queue.submitted, on, onSeq, cause, event, 0, false);
  }

  #emitWait(call: string, queue: StreamQueue, seq: number, on: StreamQueue, onSeq: number, cause: WaitCause, event: Event | undefined, fromSpan: number, enqueued: boolean): void {
    this.observer.emit('streamWait', {
      device: queue.device.index,
      stream: this.handleOf(queue),
      seq,
      on: this.handleOf(on),
      onSeq,
      cause,
      event,
      call,
      span: this.currentSpan,
      fromSpan,
      enqueued,
    });
  }

  /** Devices report the waits they add themselves only while someone listens for waits. */
  #observersChanged(): void {
    const listener = this.observer.listeners.streamWait === undefined ? undefined : this.#implicitWait;
    for (const d of this.devices) d.onImplicitWait = listener;
  }

  readonly #implicitWait = (queue: StreamQueue, seq: number, on: StreamQueue, onSeq: number, call: string, enqueued: boolean): void => {
    this.#emitWait(call, queue, seq, on, onSeq, 'legacyDefaultStream', undefined, 0, enqueued);
  };
}

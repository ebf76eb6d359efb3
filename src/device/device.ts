import { type Remote, wrap } from 'comlink';
import type { ResourceLimits, Worker } from 'node:worker_threads';
import { ErrorCode, errorNumber } from '../errors/error-code.js';
import { formatMessage, openRegError } from '../errors/errors.js';
import type { OpenRegError } from '../errors/openreg-error.js';
import { AllocationTable } from '../memory/allocation-table.js';
import { FencedAllocator } from '../memory/fenced-allocator.js';
import { comlinkEndpoint } from '../protocol/comlink-endpoint.js';
import type { Fence } from '../protocol/fence.js';
import {
  DEFAULT_STREAM_INDEX,
  DEVICE_CONTROL_BYTES,
  DEVICE_STATS_OFFSET,
  DEVICE_STAT_COUNT,
  DeviceWord,
  GRANULE_BYTES,
  KERNEL_STARTED_F64,
  MAX_STREAMS,
  RING_SLOTS,
  StreamFlag,
  StreamState,
  StreamWord,
  streamWordIndex,
} from '../protocol/layout.js';
import { clearStickyError, markDeviceLost, readStickyError } from '../protocol/sticky-error.js';
import { discardPendingCommands } from '../protocol/stream-ring.js';
import { TRACE_BUFFER_BYTES } from '../protocol/trace-format.js';
import { ringDoorbell, wakeMain, wakeWatchers } from '../protocol/wake.js';
import type { DeviceWorkerApi, DeviceWorkerInit } from '../protocol/worker-protocol.js';
import type { Backlogs } from './backlogs.js';
import type { DeferredReads } from './deferred-reads.js';
import type { HostWaiter } from './host-waiter.js';
import { type ImplicitWaitListener, type QueueOwner, StreamQueue } from './stream-queue.js';
import { startWorker } from './worker-start.js';
import { type WasmMemory, createDeviceMemory } from '../protocol/wasm-memory.js';

/** What a device needs of the runtime that owns it. */
export interface DeviceHost {
  readonly waiter: HostWaiter;
  readonly deferredReads: DeferredReads;
  readonly backlogs: Backlogs;
  readonly runtimeWords: Int32Array;
  /** How long an enqueue may block on a full ring before ERR_TIMEOUT. */
  readonly enqueueTimeoutMs: number;
  /** Limits of each device worker's heap and stack (Node's `resourceLimits`). */
  readonly resourceLimits: ResourceLimits | undefined;
  /** The worker died: the runtime drops what it kept for the device. */
  onLost(device: Device): void;
  /** The device's sticky error (or loss), reported once per error. */
  onError(device: Device, error: OpenRegError): void;
}

/** The part of the worker's start data that is the same for every device. */
export type SharedWorkerInit = Omit<DeviceWorkerInit, 'device' | 'allocationOwner' | 'allocationSize' | 'allocationFreed' | 'traceBuffer'>;

const WORKER_URL = new URL('../../workers/device-worker.js', import.meta.url);
/** How long close() waits for a worker to acknowledge shutdown before terminating it. */
const SHUTDOWN_GRACE_MS = 2000;
/** How long deviceReset waits for a worker to answer before replacing it (it is busy in a kernel). */
const RESET_GRACE_MS = 1000;

/** True if `promise` fulfils within `ms`; false if it has not by then (a later rejection is ignored). */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  promise.catch(() => undefined);
  try {
    return await Promise.race([promise.then(() => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Main-thread side of one emulated device: its worker, control block, heap and streams. */
export class Device implements QueueOwner {
  readonly index: number;
  readonly controlBuffer = new SharedArrayBuffer(DEVICE_CONTROL_BYTES);
  readonly control = new Int32Array(this.controlBuffer);
  readonly #controlF64 = new Float64Array(this.controlBuffer);
  /** The device's memory: a shared wasm memory, so the worker's wasm kernels run on it in place. */
  readonly wasmMemory: WasmMemory;
  readonly heap: SharedArrayBuffer;
  readonly heapBytes: Uint8Array;
  readonly memory: FencedAllocator;
  /** Active stream queues by record index (the default stream is record 0). */
  readonly queues: (StreamQueue | undefined)[] = new Array(MAX_STREAMS);
  /** Non-default streams without `nonBlocking`, for the legacy default stream. */
  blockingStreams: StreamQueue[] = [];
  /** The destroyed queue of each retired record, told when the record is reused. */
  readonly #retired: (StreamQueue | undefined)[] = [];
  readonly defaultStream: StreamQueue;
  /** Bumped by deviceReset: streams and events of older generations are invalid. */
  generation = 0;
  lost = false;
  /** Where the worker writes trace records while profiling. */
  readonly traceBuffer = new SharedArrayBuffer(TRACE_BUFFER_BYTES);
  /** Copies the host did itself for this device (pageable memory), for deviceStats. */
  readonly hostCopies = { count: 0, bytes: 0 };
  /** Set by the runtime while someone observes it. */
  onImplicitWait: ImplicitWaitListener | undefined;
  /** The runtime's host reads waiting to copy straight out of device memory. */
  readonly deferredReads: DeferredReads;
  /** The sticky error has been reported to the host. */
  #errorReported = false;
  #worker: Worker | undefined;
  #remote: Remote<DeviceWorkerApi> | undefined;
  #exited: Promise<void> = Promise.resolve();
  #closing = false;
  readonly #host: DeviceHost;
  #allControls: Int32Array[] = [];

  constructor(host: DeviceHost, index: number, heapBytes: number) {
    this.index = index;
    this.#host = host;
    this.deferredReads = host.deferredReads;
    this.wasmMemory = createDeviceMemory(heapBytes);
    this.heap = this.wasmMemory.buffer as unknown as SharedArrayBuffer;
    this.heapBytes = new Uint8Array(this.heap);
    this.memory = new FencedAllocator(heapBytes, GRANULE_BYTES, AllocationTable.create(heapBytes));
    const h = streamWordIndex(DEFAULT_STREAM_INDEX, 0);
    this.control[h + StreamWord.FLAGS] = StreamFlag.DEFAULT;
    this.control[h + StreamWord.STATE] = StreamState.ACTIVE;
    this.defaultStream = new StreamQueue(this, DEFAULT_STREAM_INDEX, 0, false);
    this.queues[DEFAULT_STREAM_INDEX] = this.defaultStream;
  }

  /** Starts (or restarts) the device's worker. */
  /** Starts the worker and waits until it answers (its commands are served from then on; they may be enqueued before). */
  start(init: SharedWorkerInit): Promise<void> {
    this.spawn(init);
    return this.call('start', (r) => r.stats()).then(() => {
      this.answered = true;
    });
  }

  /** True once the worker has answered: until then the main thread must not block on it (it may never start). */
  answered = false;

  /**
   * Starts the worker without waiting for it: commands enqueued meanwhile wait in their rings,
   * and a worker that cannot start is a lost device (what lazy initialization relies on).
   */
  spawn(init: SharedWorkerInit): void {
    this.#allControls = init.controls.map((b) => new Int32Array(b));
    const worker = startWorker(WORKER_URL, {
      resourceLimits: this.#host.resourceLimits,
      workerData: {
        ...init,
        device: this.index,
        allocationOwner: this.memory.table.ownerBuffer,
        allocationSize: this.memory.table.sizeBuffer,
        allocationFreed: this.memory.table.freedBuffer,
        traceBuffer: this.traceBuffer,
      } satisfies DeviceWorkerInit,
    });
    this.#worker = worker;
    this.#remote = wrap<DeviceWorkerApi>(comlinkEndpoint(worker));
    // A forgotten runtime must not keep the process alive; pending waits hold it instead.
    // (After wrap: adding a 'message' listener refs the worker's port again.)
    worker.unref();
    this.#exited = new Promise((resolve) => {
      worker.once('exit', (code) => {
        resolve();
        if (!this.#closing && this.#worker === worker) this.#markLost(formatMessage('workerExited', { device: this.index, exitCode: code }));
      });
    });
    worker.on('error', (error) => {
      if (!this.#closing && this.#worker === worker) this.#markLost(`device ${this.index}'s worker crashed: ${error.message}`);
    });
  }

  /** A control-plane call: the worker turns its event loop until the reply is sent. */
  async call<T>(call: string, fn: (remote: Remote<DeviceWorkerApi>) => Promise<T>): Promise<T> {
    const remote = this.#remote;
    if (remote === undefined || this.isLost) throw this.error(call) ?? lostError(call, this.index);
    Atomics.add(this.control, DeviceWord.CONTROL_PENDING, 1);
    ringDoorbell(this.control);
    this.#host.waiter.hold();
    try {
      return await Promise.race([fn(remote), this.#exited.then(() => Promise.reject(this.error(call) ?? lostError(call, this.index)))]);
    } finally {
      Atomics.sub(this.control, DeviceWord.CONTROL_PENDING, 1);
      this.#host.waiter.release();
    }
  }

  /** The device's sticky error as thrown by `call`, if any. */
  error(call: string): OpenRegError | undefined {
    return readStickyError(this.control, this.index, call);
  }

  /**
   * True once the worker is gone. The worker marks the loss in shared memory before the
   * host handles its exit event, so both are consulted.
   */
  get isLost(): boolean {
    return this.lost || Atomics.load(this.control, DeviceWord.STICKY_ERROR) === errorNumber.ERR_DEVICE_LOST;
  }

  throwIfFailed(call: string): void {
    if (Atomics.load(this.control, DeviceWord.STICKY_ERROR) === 0) return;
    const error = this.error(call)!;
    this.#reportError(error);
    throw error;
  }

  countHostCopy(bytes: number): void {
    this.hostCopies.count++;
    this.hostCopies.bytes += bytes;
  }

  /** Free epoch of the device's memory: launches carry it (use-after-free checks). */
  get freeEpoch(): number {
    return this.memory.freeEpoch;
  }

  /** A stream queue started a backlog. */
  backlogStarted(queue: StreamQueue): void {
    this.#host.backlogs.add(queue);
  }

  /** A new stream record, or undefined if all are in use. */
  createStream(priority: number, nonBlocking: boolean): StreamQueue | undefined {
    this.pruneBlockingStreams();
    for (let index = 1; index < MAX_STREAMS; index++) {
      if (this.queues[index] !== undefined || this.#host.backlogs.holdsRecord(this.index, index)) continue;
      const h = streamWordIndex(index, 0);
      const state = Atomics.load(this.control, h + StreamWord.STATE);
      // A retired record is reused only once the worker has drained it.
      if (state === StreamState.RETIRED && Atomics.load(this.control, h + StreamWord.SUBMITTED) !== Atomics.load(this.control, h + StreamWord.COMPLETED)) {
        continue;
      }
      this.#retired[index]?.recordReused();
      this.#retired[index] = undefined;
      this.control[h + StreamWord.PRIORITY] = priority;
      this.control[h + StreamWord.FLAGS] = nonBlocking ? StreamFlag.NON_BLOCKING : 0;
      Atomics.store(this.control, h + StreamWord.HOST_PENDING, 0);
      Atomics.store(this.control, h + StreamWord.HOST_DONE, 0);
      Atomics.store(this.control, h + StreamWord.STATE, StreamState.ACTIVE);
      const queue = new StreamQueue(this, index, priority, nonBlocking);
      this.queues[index] = queue;
      if (!nonBlocking) this.blockingStreams.push(queue);
      Atomics.add(this.control, DeviceWord.STREAM_TABLE_GEN, 1);
      return queue;
    }
    return undefined;
  }

  /** Retires a stream: its enqueued work still runs; the record is reused once drained. */
  destroyStream(queue: StreamQueue): void {
    queue.destroyed = true;
    this.queues[queue.index] = undefined;
    this.#retired[queue.index] = queue;
    Atomics.store(this.control, queue.header + StreamWord.STATE, StreamState.RETIRED);
    Atomics.add(this.control, DeviceWord.STREAM_TABLE_GEN, 1);
    this.pruneBlockingStreams();
  }

  /**
   * Drops destroyed streams the default stream no longer needs to wait for: those it
   * already waits for, and those whose work has completed (else each would be kept until
   * the default stream next ran).
   */
  pruneBlockingStreams(): void {
    const done = (q: StreamQueue) => q.destroyed && (q.submitted === q.syncedIntoDefault || q.hasCompleted(q.submitted));
    if (this.blockingStreams.some(done)) this.blockingStreams = this.blockingStreams.filter((q) => !done(q));
  }

  /** True while a destroyed stream's record still has work to drain (it becomes free after). */
  get hasDrainingRecords(): boolean {
    for (let index = 1; index < MAX_STREAMS; index++) {
      const h = streamWordIndex(index, 0);
      if (Atomics.load(this.control, h + StreamWord.STATE) !== StreamState.RETIRED) continue;
      if (Atomics.load(this.control, h + StreamWord.SUBMITTED) !== Atomics.load(this.control, h + StreamWord.COMPLETED)) return true;
      if (this.#host.backlogs.holdsRecord(this.index, index)) return true;
    }
    return false;
  }

  /** Streams of other devices that enqueued copies or fills touching this device's memory. */
  readonly #foreignQueues = new Set<StreamQueue>();

  /** Notes that `queue` (of any device) enqueued work that touches this device's memory. */
  noteUse(queue: StreamQueue): void {
    if (queue.device !== this) this.#foreignQueues.add(queue);
  }

  /**
   * Adds what may still touch this device's memory to `fence`: its own streams and the
   * other devices' streams that copied to or from it. A free waits for these, not for
   * unrelated work elsewhere.
   */
  addMemoryUsersToFence(fence: Fence): void {
    this.addToFence(fence);
    for (const q of this.#foreignQueues) {
      if (q.hasCompleted(q.submitted)) this.#foreignQueues.delete(q);
      else fence.add(q.device.control, q.completedIndex, q.submitted);
    }
  }

  /** Adds every stream of this device with unfinished work (backlog included) to `fence`. */
  addToFence(fence: Fence): void {
    const control = this.control;
    const backlogged = this.#host.backlogs.pendingSeqs(this.index);
    for (let index = 0; index < MAX_STREAMS; index++) {
      const h = streamWordIndex(index, 0);
      if (Atomics.load(control, h + StreamWord.STATE) === StreamState.FREE) continue;
      fence.add(control, h + StreamWord.COMPLETED, backlogged.get(index) ?? Atomics.load(control, h + StreamWord.SUBMITTED));
    }
  }

  /**
   * Called by a full ring: blocks until the worker has consumed enough slots, unless
   * blocking could deadlock (then false: the caller backlogs the command).
   */
  waitForRingSpace(queue: StreamQueue, slots: number, call: string): boolean {
    if (!this.#host.waiter.blockingIsSafe) return false;
    // Wait for a quarter of the ring, not one slot: refilling it one command at a time
    // would wake this thread once per command.
    const wanted = Math.max(slots, RING_SLOTS >> 2);
    const ready = () => {
      this.throwIfFailed(call);
      return queue.freeSlots() >= wanted || queue.idle || !this.#host.waiter.blockingIsSafe;
    };
    // Woken once, where that room exists: waiting on the whole device would have the worker notify this thread per command.
    if (!this.#host.waiter.waitSync(call, [queue.positionFreeing(wanted)], ready, this.#host.enqueueTimeoutMs)) {
      throw openRegError('enqueueTimedOut', { call, device: this.index, ms: this.#host.enqueueTimeoutMs }, this.index);
    }
    return queue.freeSlots() >= slots;
  }

  /**
   * Device reset: pending work is dropped, all memory freed, user streams retired.
   * A lost device gets a new worker (modules are reloaded by the caller).
   */
  async reset(restart: () => Promise<void>): Promise<void> {
    // The worker marks the loss in shared memory before the host sees its exit event.
    if (!this.lost && this.isLost) await this.#exited;
    this.generation++;
    this.#host.backlogs.dropDevice(this.index);
    for (const q of this.queues) if (q !== undefined && !q.isDefault) this.destroyStream(q);
    this.blockingStreams = [];
    this.#foreignQueues.clear();
    if (this.lost) {
      await this.#terminate();
      this.lost = false;
      clearStickyError(this.control);
      await restart();
    } else if (!(await settlesWithin(this.call('deviceReset', (r) => r.reset()), RESET_GRACE_MS))) {
      // A worker busy in a kernel (or hung in one) cannot answer: replace it.
      await this.#terminate();
      this.#discardPendingWork();
      await restart();
    }
    this.memory.reset();
    new Float64Array(this.controlBuffer, DEVICE_STATS_OFFSET, DEVICE_STAT_COUNT).fill(0);
    this.hostCopies.count = this.hostCopies.bytes = 0;
    clearStickyError(this.control);
    this.#errorReported = false;
    this.defaultStream.syncedIntoDefault = this.defaultStream.submitted;
  }

  /** Stops the worker: asks it to shut down (unless `force`), and terminates it after a grace period. */
  async close(force = false): Promise<void> {
    this.#closing = true;
    if (this.#worker === undefined) return;
    if (!this.isLost && !force) await settlesWithin(this.call('close', (r) => r.shutdown()), SHUTDOWN_GRACE_MS).catch(() => false);
    await this.#terminate();
  }

  async #terminate(): Promise<void> {
    const worker = this.#worker;
    this.#worker = undefined;
    this.#remote = undefined;
    if (worker !== undefined) {
      await worker.terminate();
      await this.#exited;
    }
  }

  /** Gives up on a worker that no longer answers: the device is lost (deviceReset starts a new one). */
  async abandon(message: string): Promise<void> {
    this.#markLost(message);
    await this.#terminate();
  }

  /**
   * With no worker to drain this device's streams, completes them, so that waits on them
   * elsewhere (other devices, events, the host) end instead of hanging.
   */
  #discardPendingWork(): void {
    for (let index = 0; index < MAX_STREAMS; index++) {
      if (Atomics.load(this.control, streamWordIndex(index, StreamWord.STATE)) !== StreamState.FREE) {
        discardPendingCommands(this.control, index);
      }
    }
    wakeWatchers(this.control, this.#allControls, this.#host.runtimeWords);
    wakeMain(this.#host.runtimeWords);
  }

  /**
   * The watchdog: if a kernel has run longer than `limitMs` (by the shared clock `now`),
   * terminates the worker and fails the device with ERR_LAUNCH_TIMEOUT.
   */
  checkKernelTime(limitMs: number, now: number): void {
    const started = this.#controlF64[KERNEL_STARTED_F64]!;
    if (started === 0 || now - started <= limitMs || this.lost || this.#worker === undefined) return;
    this.#markLost(formatMessage('kernelTimedOut', { device: this.index, ms: limitMs }), ErrorCode.LAUNCH_TIMEOUT);
    this.#controlF64[KERNEL_STARTED_F64] = 0;
    void this.#terminate();
  }

  #markLost(message: string, code: ErrorCode = ErrorCode.DEVICE_LOST): void {
    if (this.lost) return;
    this.lost = true;
    markDeviceLost(this.control, message, code);
    this.#host.backlogs.dropDevice(this.index);
    this.#discardPendingWork();
    this.#reportError(this.error('device lost')!);
    this.#host.onLost(this);
  }

  #reportError(error: OpenRegError): void {
    if (this.#errorReported) return;
    this.#errorReported = true;
    this.#host.onError(this, error);
  }
}

function lostError(call: string, device: number): OpenRegError {
  return openRegError('deviceLost', { call, device }, device);
}

import { AsyncLocalStorage } from 'node:async_hooks';
import { ErrorCode } from '../errors/error-code.js';
import { formatMessage } from '../errors/errors.js';
import { StreamWord } from '../protocol/layout.js';
import { raiseStickyError } from '../protocol/sticky-error.js';
import { ringDoorbell } from '../protocol/wake.js';
import type { StreamPosition, StreamQueue } from './stream-queue.js';

interface PendingHostFunction extends StreamPosition {
  fn: () => unknown;
  running: boolean;
}

/**
 * Host functions (`cudaLaunchHostFunc`): the device worker parks the stream at the
 * command and asks the main thread, through shared memory, to run the function; the
 * stream resumes when the function (or the promise it returns) has settled.
 */
export class HostFunctions {
  #pending: PendingHostFunction[] = [];
  /** The host function whose code (or an async continuation of it) is running. */
  readonly #scope = new AsyncLocalStorage<PendingHostFunction>();
  /** Depth of host functions running synchronously right now. */
  #depth = 0;
  /** Host functions whose returned promise has not settled: they need the event loop. */
  #inFlight = 0;

  get pending(): boolean {
    return this.#pending.length > 0;
  }

  /** True while a host function runs on this stack: blocking on the device would deadlock. */
  get insideHostFunction(): boolean {
    return this.#depth > 0;
  }

  /** True while a host function's promise is pending: it cannot settle while the main thread blocks. */
  get asyncInFlight(): boolean {
    return this.#inFlight > 0;
  }

  /**
   * True when called from inside a host function (its body or anything it awaits) that
   * sits at or before `seq` of `queue`: a wait for `seq` would wait for itself.
   */
  waitsForItself(queue: StreamQueue, seq: number): boolean {
    const entry = this.#scope.getStore();
    return entry !== undefined && entry.running && entry.queue === queue && seq >= entry.seq;
  }

  /** True when called from inside a host function of a stream of `device`. */
  waitsForItselfOn(device: number): boolean {
    const entry = this.#scope.getStore();
    return entry !== undefined && entry.running && entry.queue.device.index === device;
  }

  add(queue: StreamQueue, seq: number, fn: () => unknown): void {
    this.#pending.push({ queue, seq, fn, running: false });
  }

  /** True if a device has parked a stream at a host function that has not run yet. */
  hasRequest(): boolean {
    for (const entry of this.#pending) {
      if (!entry.running && Atomics.load(entry.queue.device.control, entry.queue.header + StreamWord.HOST_PENDING) === (entry.seq | 0)) return true;
    }
    return false;
  }

  /** Runs every host function whose stream has reached it. */
  runReady(): void {
    if (this.#pending.length === 0) return;
    for (const entry of this.#pending.slice()) {
      if (entry.running) continue;
      const control = entry.queue.device.control;
      // The shared word holds the sequence number as int32.
      if (Atomics.load(control, entry.queue.header + StreamWord.HOST_PENDING) === (entry.seq | 0)) this.#run(entry);
      // Skipped by the worker (sticky error) or dropped by a reset: never runs.
      else if (entry.queue.hasCompleted(entry.seq)) this.#remove(entry);
    }
  }

  /** Forgets the host functions of a device that was reset or lost. */
  dropDevice(device: number): void {
    this.#pending = this.#pending.filter((e) => e.queue.device.index !== device);
  }

  #run(entry: PendingHostFunction): void {
    entry.running = true;
    let result: unknown;
    this.#depth++;
    try {
      result = this.#scope.run(entry, entry.fn);
    } catch (error) {
      this.#fail(entry, error);
      this.#finish(entry);
      return;
    } finally {
      this.#depth--;
    }
    if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
      this.#inFlight++;
      (result as PromiseLike<unknown>).then(
        () => {
          this.#inFlight--;
          this.#finish(entry);
        },
        (error: unknown) => {
          this.#inFlight--;
          this.#fail(entry, error);
          this.#finish(entry);
        },
      );
    } else {
      this.#finish(entry);
    }
  }

  #fail(entry: PendingHostFunction, error: unknown): void {
    const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    raiseStickyError(
      entry.queue.device.control,
      ErrorCode.LAUNCH_FAILURE,
      formatMessage('hostFunctionThrew', { name: entry.fn.name || '(anonymous)', stream: entry.queue.index, error: what }),
    );
  }

  #finish(entry: PendingHostFunction): void {
    this.#remove(entry);
    const control = entry.queue.device.control;
    Atomics.store(control, entry.queue.header + StreamWord.HOST_DONE, entry.seq);
    ringDoorbell(control);
  }

  #remove(entry: PendingHostFunction): void {
    const i = this.#pending.indexOf(entry);
    if (i >= 0) this.#pending.splice(i, 1);
  }
}

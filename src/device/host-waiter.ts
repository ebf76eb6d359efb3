import { ErrorCode } from '../errors/error-code.js';
import { formatMessage, openRegError } from '../errors/errors.js';
import { OpenRegError } from '../errors/openreg-error.js';
import { DeviceWord, MAIN_WATCHER_BIT, RuntimeWord } from '../protocol/layout.js';
import { armMainWakeAt, wakeMain } from '../protocol/wake.js';
import type { Backlogs } from './backlogs.js';
import type { HostFunctions } from './host-functions.js';

/**
 * Something a wait can be woken by: a device (any completion there, through its WATCHERS
 * word), or one position of one of its streams (only reaching it wakes the main thread).
 */
export interface Watchable {
  readonly control: Int32Array;
  /** The stream record index and the position (wrapping sequence number) to be woken at. */
  readonly stream?: number;
  readonly seq?: number;
}

/** Registers the main thread's interest in `w`. */
function register(w: Watchable): void {
  if (w.stream === undefined) Atomics.or(w.control, DeviceWord.WATCHERS, MAIN_WATCHER_BIT);
  else armMainWakeAt(w.control, w.stream, w.seq!);
}

interface AsyncWait {
  watch: readonly Watchable[];
  ready: () => boolean;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** A bound on a wait: how long at most, and a signal that ends it. */
export interface WaitBounds {
  /** The public call, for messages. */
  call: string;
  timeoutMs: number;
  signal: AbortSignal | undefined;
}

/** The longest delay setTimeout honours. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** `promise`, or ERR_TIMEOUT / ERR_ABORTED if `bounds` end first (the promise's later outcome is ignored). */
export function withinBounds<T>(promise: Promise<T>, bounds: WaitBounds): Promise<T> {
  promise.catch(() => undefined);
  if (bounds.signal?.aborted === true) return Promise.reject(aborted(bounds));
  return new Promise<T>((resolve, reject) => {
    const disarm = armBounds(bounds, reject);
    promise.then(
      (value) => {
        disarm();
        resolve(value);
      },
      (error: unknown) => {
        disarm();
        reject(error);
      },
    );
  });
}

/** Calls `end` with ERR_TIMEOUT after `bounds.timeoutMs`, or ERR_ABORTED when the signal aborts; returns the disarm. */
function armBounds(bounds: WaitBounds, end: (error: OpenRegError) => void): () => void {
  // setTimeout cannot wait past 2^31 - 1 ms (it would fire at once): a longer bound never ends a wait in practice.
  const timer = bounds.timeoutMs <= MAX_TIMER_MS ? setTimeout(() => end(openRegError('waitTimedOut', { call: bounds.call, ms: bounds.timeoutMs })), bounds.timeoutMs) : undefined;
  const onAbort = () => end(aborted(bounds));
  bounds.signal?.addEventListener('abort', onAbort, { once: true });
  return () => {
    clearTimeout(timer);
    bounds.signal?.removeEventListener('abort', onAbort);
  };
}

/** A wait whose signal has aborted already ends at once, whether or not anything is pending (as fetch does). */
export function throwIfAborted(bounds: WaitBounds | undefined): void {
  if (bounds?.signal?.aborted === true) throw aborted(bounds);
}

function aborted(bounds: WaitBounds): OpenRegError {
  return new OpenRegError(ErrorCode.ABORTED, formatMessage('waitAborted', { call: bounds.call }), { cause: bounds.signal?.reason });
}

/**
 * How long a blocking wait spins before it sleeps, and again after each wake-up: most
 * waits here are short, and a sleeping waiter costs the worker a notify per command.
 */
const SYNC_SPIN_MS = 0.05;
/** Longest single Atomics.wait on the main thread; the loop re-checks device state between. */
const SYNC_SLICE_MS = 50;
/** Safety poll while async waits are pending: a ref'd handle, and a bound on a lost wake-up. */
const ASYNC_POLL_MS = 25;
/** Slices a blocking wait may make no progress while a host function's promise is pending. */
const DEADLOCK_SLICES = 20;

/**
 * Main-thread waiting. Workers bump RuntimeWord.MAIN_WAKE (and notify) when they complete
 * work on a device whose WATCHERS word has the main bit. Synchronous waits block in
 * Atomics.wait with a timeout; asynchronous ones share a single Atomics.waitAsync.
 */
export class HostWaiter {
  readonly #words: Int32Array;
  readonly #hostFunctions: HostFunctions;
  readonly #backlogs: Backlogs;
  readonly #onSlice: () => void;
  #waits: AsyncWait[] = [];
  #armed = false;
  #keepAlive: NodeJS.Timeout | undefined;
  #holds = 0;
  #closed = false;

  /** `onSlice` runs between the slices of a blocking wait (timers cannot run then). */
  constructor(words: Int32Array, hostFunctions: HostFunctions, backlogs: Backlogs, onSlice: () => void = () => undefined) {
    this.#words = words;
    this.#hostFunctions = hostFunctions;
    this.#backlogs = backlogs;
    this.#onSlice = onSlice;
  }

  /** False when blocking the main thread could keep a host function from running or settling. */
  get blockingIsSafe(): boolean {
    return !this.#hostFunctions.insideHostFunction && !this.#hostFunctions.asyncInFlight;
  }

  /** Blocks until `ready()` (which may throw the error to surface), or for at most `timeoutMs`; false if it timed out. */
  waitSync(call: string, watch: readonly Watchable[], ready: () => boolean, timeoutMs = Infinity): boolean {
    if (ready()) return true;
    if (this.#hostFunctions.insideHostFunction) {
      throw openRegError('blockingInHostFunction', { call });
    }
    const words = this.#words;
    let stalled = 0;
    const deadline = performance.now() + timeoutMs;
    let spinUntil = performance.now() + SYNC_SPIN_MS;
    for (;;) {
      this.#hostFunctions.runReady();
      this.#backlogs.flush();
      if (ready()) return true;
      const now = performance.now();
      if (now >= deadline) return false;
      if (now < spinUntil) continue;
      const seq = Atomics.load(words, RuntimeWord.MAIN_WAKE);
      for (const w of watch) register(w);
      for (const d of this.#backlogs.watched()) Atomics.or(d.control, DeviceWord.WATCHERS, MAIN_WATCHER_BIT);
      if (ready()) return true;
      const woke = Atomics.wait(words, RuntimeWord.MAIN_WAKE, seq, Math.min(SYNC_SLICE_MS, Math.max(0, deadline - now)));
      this.#onSlice();
      if (woke !== 'timed-out') {
        spinUntil = performance.now() + SYNC_SPIN_MS;
        continue;
      }
      // A pending host-function promise can only settle on the event loop this wait blocks.
      if (this.#hostFunctions.asyncInFlight && ++stalled >= DEADLOCK_SLICES) {
        throw openRegError('blockedBehindHostFunction', { call, ms: DEADLOCK_SLICES * SYNC_SLICE_MS });
      }
    }
  }

  /** Resolves once `ready()`; rejects with what `ready()` throws. */
  waitAsync(watch: readonly Watchable[], ready: () => boolean, bounds?: WaitBounds): Promise<void> {
    try {
      if (ready()) return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
    if (bounds?.signal?.aborted === true) return Promise.reject(aborted(bounds));
    return new Promise<void>((resolve, reject) => {
      const wait: AsyncWait = { watch, ready, resolve, reject };
      if (bounds !== undefined) this.#bound(wait, bounds);
      this.#waits.push(wait);
      this.arm();
    });
  }

  /** Ends `wait` with ERR_TIMEOUT after `bounds.timeoutMs`, or ERR_ABORTED when its signal aborts. */
  #bound(wait: AsyncWait, bounds: WaitBounds): void {
    const { resolve, reject } = wait;
    const disarm = armBounds(bounds, (error) => {
      const i = this.#waits.indexOf(wait);
      if (i < 0) return;
      this.#waits.splice(i, 1);
      wait.reject(error);
      this.#updateKeepAlive();
    });
    wait.resolve = () => {
      disarm();
      resolve();
    };
    wait.reject = (error) => {
      disarm();
      reject(error);
    };
  }

  /** Keeps the process alive (and polling) while control-plane calls are in flight. */
  hold(): void {
    this.#holds++;
    this.#updateKeepAlive();
  }

  release(): void {
    this.#holds--;
    this.#updateKeepAlive();
  }

  /** From the event loop: runs ready host functions, flushes backlogs, settles waits, re-arms. */
  readonly poll = (): void => {
    if (this.#closed) return;
    const seq = Atomics.load(this.#words, RuntimeWord.MAIN_WAKE);
    this.#hostFunctions.runReady();
    this.#backlogs.flush();
    this.#arm(seq);
  };

  /** Makes sure a wake-up is pending for whatever needs the main thread; runs no user code. */
  arm(): void {
    if (this.#closed) return;
    const seq = Atomics.load(this.#words, RuntimeWord.MAIN_WAKE);
    // A request that rang before `seq` was read would not wake the wait below.
    if (this.#hostFunctions.hasRequest()) setImmediate(this.poll);
    this.#arm(seq);
  }

  #arm(seq: number): void {
    // Register, then look: a completion after this point rings MAIN_WAKE past `seq`.
    for (const wait of this.#waits) for (const w of wait.watch) register(w);
    for (const d of this.#backlogs.watched()) Atomics.or(d.control, DeviceWord.WATCHERS, MAIN_WATCHER_BIT);
    this.#settle();
    this.#updateKeepAlive();
    if (this.#armed || !this.#busy) return;
    const result = Atomics.waitAsync(this.#words, RuntimeWord.MAIN_WAKE, seq);
    if (!result.async) {
      setImmediate(this.poll);
      return;
    }
    this.#armed = true;
    void result.value.then(this.#onWake);
  }

  /** Rejects every pending wait (runtime closed). */
  close(): void {
    this.#closed = true;
    const waits = this.#waits;
    this.#waits = [];
    for (const w of waits) w.reject(openRegError('closedWhileWaiting', {}));
    this.#holds = 0;
    this.#updateKeepAlive();
    // Release the pending Atomics.waitAsync.
    wakeMain(this.#words);
  }

  readonly #onWake = (): void => {
    this.#armed = false;
    this.poll();
  };

  #settle(): void {
    if (this.#waits.length === 0) return;
    const still: AsyncWait[] = [];
    for (const wait of this.#waits) {
      let done: boolean;
      try {
        done = wait.ready();
      } catch (error) {
        wait.reject(error);
        continue;
      }
      if (done) wait.resolve();
      else still.push(wait);
    }
    this.#waits = still;
  }

  /** Waits, host functions or backlogged commands that need the main thread. */
  get #busy(): boolean {
    return this.#waits.length > 0 || this.#hostFunctions.pending || this.#backlogs.pending;
  }

  #updateKeepAlive(): void {
    const needed = !this.#closed && (this.#busy || this.#holds > 0);
    if (needed && this.#keepAlive === undefined) {
      this.#keepAlive = setInterval(this.poll, ASYNC_POLL_MS);
    } else if (!needed && this.#keepAlive !== undefined) {
      clearInterval(this.#keepAlive);
      this.#keepAlive = undefined;
    }
  }
}

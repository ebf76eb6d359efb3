import { DeviceWord, MAIN_WATCHER_BIT, RuntimeWord, StreamWord, streamWordIndex } from './layout.js';

// Wake-ups between threads: every waker bumps a sequence word, then notifies, so a
// stray or early notify is harmless and a waiter that read the old value never sleeps through one.

/** Wakes main-thread waiters (sync and async). */
export function wakeMain(runtimeWords: Int32Array): void {
  Atomics.add(runtimeWords, RuntimeWord.MAIN_WAKE, 1);
  Atomics.notify(runtimeWords, RuntimeWord.MAIN_WAKE);
}

/** Wakes every thread registered in a device's WATCHERS word. */
export function wakeWatchers(control: Int32Array, controls: readonly Int32Array[], runtimeWords: Int32Array): void {
  const watchers = Atomics.exchange(control, DeviceWord.WATCHERS, 0);
  if (watchers === 0) return;
  if (watchers & MAIN_WATCHER_BIT) wakeMain(runtimeWords);
  for (let d = 0; d < controls.length; d++) {
    if (watchers & (1 << d)) ringDoorbell(controls[d]!);
  }
}

export function ringDoorbell(control: Int32Array): void {
  Atomics.add(control, DeviceWord.DOORBELL, 1);
  Atomics.notify(control, DeviceWord.DOORBELL);
}

/**
 * Arms a main-thread wake for when stream record `stream` completes command `seq` (wrapping):
 * the worker wakes the main thread once, there, rather than on every completion of its device.
 * An earlier armed position is kept (the main thread re-arms for the later one after it wakes).
 */
export function armMainWakeAt(control: Int32Array, stream: number, seq: number): void {
  const h = streamWordIndex(stream, 0);
  if (Atomics.load(control, h + StreamWord.WAKE_MAIN_ARMED) !== 0 && ((seq - Atomics.load(control, h + StreamWord.WAKE_MAIN_AT)) | 0) >= 0) return;
  Atomics.store(control, h + StreamWord.WAKE_MAIN_AT, seq);
  Atomics.store(control, h + StreamWord.WAKE_MAIN_ARMED, 1);
}

/** The worker's side, after publishing `completed` for the stream whose header is at `h`: wakes the main thread if its armed position is reached. */
export function wakeMainIfReached(control: Int32Array, h: number, completed: number, runtimeWords: Int32Array): void {
  if (((completed - Atomics.load(control, h + StreamWord.WAKE_MAIN_AT)) | 0) < 0) return;
  if (Atomics.exchange(control, h + StreamWord.WAKE_MAIN_ARMED, 0) !== 0) wakeMain(runtimeWords);
}

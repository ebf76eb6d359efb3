import { DeviceWord, MAIN_WATCHER_BIT, RuntimeWord } from './layout.js';

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

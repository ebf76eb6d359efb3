import { describe, expect, test } from 'vitest';
import { DEVICE_CONTROL_BYTES, RuntimeWord, StreamWord, streamWordIndex } from '../../src/protocol/layout.js';
import { armMainWakeAt, wakeMainIfReached } from '../../src/protocol/wake.js';

// A main-thread wait on a stream position is woken by the worker once, when the stream gets
// there: not by every completion before it (each would cost the worker a notify and the main
// thread a wake-up).
describe('waking the main thread at a stream position', () => {
  const setup = () => ({ control: new Int32Array(new SharedArrayBuffer(DEVICE_CONTROL_BYTES)), runtime: new Int32Array(new SharedArrayBuffer(64)) });
  const h = streamWordIndex(3, 0);
  const wakes = (runtime: Int32Array) => Atomics.load(runtime, RuntimeWord.MAIN_WAKE);

  test('completions before the armed position wake no one; reaching it wakes once', () => {
    const { control, runtime } = setup();
    armMainWakeAt(control, 3, 10);
    for (let seq = 1; seq < 10; seq++) wakeMainIfReached(control, h, seq, runtime);
    expect(wakes(runtime)).toBe(0);
    wakeMainIfReached(control, h, 10, runtime);
    wakeMainIfReached(control, h, 11, runtime);
    expect(wakes(runtime)).toBe(1);
    expect(control[h + StreamWord.WAKE_MAIN_ARMED]).toBe(0);
  });

  test('of two waits, the earlier position is armed whichever arms first', () => {
    const { control, runtime } = setup();
    armMainWakeAt(control, 3, 20);
    armMainWakeAt(control, 3, 12);
    armMainWakeAt(control, 3, 30);
    wakeMainIfReached(control, h, 12, runtime);
    expect(wakes(runtime)).toBe(1);
  });

  test('positions compare across the int32 wrap', () => {
    const { control, runtime } = setup();
    armMainWakeAt(control, 3, 0x7ffffffe);
    wakeMainIfReached(control, h, 0x7ffffffd, runtime);
    expect(wakes(runtime)).toBe(0);
    wakeMainIfReached(control, h, (0x7fffffff + 2) | 0, runtime);
    expect(wakes(runtime)).toBe(1);
  });
});

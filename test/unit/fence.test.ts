import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { Fence } from '../../src/protocol/fence.js';

const INT32_MAX = 2 ** 31 - 1;
const INT32_MIN = -(2 ** 31);

describe('Fence', () => {
  test('an empty fence is complete', () => {
    expect(new Fence().complete).toBe(true);
  });

  test('complete once every listed word has reached its sequence number', () => {
    const words = new Int32Array(8);
    const fence = new Fence();
    fence.add(words, 2, 5);
    fence.add(words, 6, 1);
    expect(fence.complete).toBe(false);
    Atomics.store(words, 2, 5);
    expect(fence.complete).toBe(false); // word 6 still at 0
    Atomics.store(words, 6, 1);
    expect(fence.complete).toBe(true);
    Atomics.store(words, 6, 7);
    expect(fence.complete).toBe(true);
  });

  test('reads the word at the given index, of the given array', () => {
    const a = new Int32Array(4);
    const b = new Int32Array(4);
    const fence = new Fence();
    fence.add(a, 3, 1);
    Atomics.store(a, 0, 1);
    Atomics.store(b, 3, 1);
    expect(fence.complete).toBe(false);
    Atomics.store(a, 3, 1);
    expect(fence.complete).toBe(true);
  });

  test('a word already at or past its sequence number adds nothing to wait for', () => {
    const words = new Int32Array([10, 3]);
    const fence = new Fence();
    fence.add(words, 0, 10);
    fence.add(words, 0, 4);
    expect(fence.complete).toBe(true);
    fence.add(words, 1, 4);
    expect(fence.complete).toBe(false);
  });

  test('the same word listed twice waits for the larger sequence number', () => {
    const words = new Int32Array(1);
    const fence = new Fence();
    fence.add(words, 0, 3);
    fence.add(words, 0, 9);
    Atomics.store(words, 0, 3);
    expect(fence.complete).toBe(false);
    Atomics.store(words, 0, 9);
    expect(fence.complete).toBe(true);
  });

  test('works on the shared Int32Array of a SharedArrayBuffer', () => {
    const words = new Int32Array(new SharedArrayBuffer(64));
    const fence = new Fence();
    fence.add(words, 15, 2);
    expect(fence.complete).toBe(false);
    Atomics.add(words, 15, 2);
    expect(fence.complete).toBe(true);
  });

  test('compares across the int32 wrap: INT32_MAX is reached by the wrapped INT32_MIN', () => {
    const words = new Int32Array([INT32_MAX - 1]);
    const fence = new Fence();
    fence.add(words, 0, INT32_MAX);
    expect(fence.complete).toBe(false);
    Atomics.add(words, 0, 1); // INT32_MAX
    expect(fence.complete).toBe(true);

    const after = new Fence();
    after.add(words, 0, INT32_MIN); // the command after INT32_MAX, as a wrapped int32
    expect(after.complete).toBe(false);
    Atomics.add(words, 0, 1); // wraps to INT32_MIN
    expect(words[0]).toBe(INT32_MIN);
    expect(after.complete).toBe(true);
  });

  test('a target just past the wrap is not reached by a word just before it', () => {
    const words = new Int32Array([INT32_MAX - 2]);
    const fence = new Fence();
    fence.add(words, 0, INT32_MIN + 2); // 5 commands ahead, wrapped
    for (let i = 0; i < 4; i++) {
      Atomics.add(words, 0, 1);
      expect(fence.complete).toBe(false);
    }
    Atomics.add(words, 0, 1);
    expect(words[0]).toBe(INT32_MIN + 2);
    expect(fence.complete).toBe(true);
  });

  test('complete iff every word has reached its sequence number, anywhere in the int32 range', () => {
    // Streams count commands without bound; their words and the fence's sequence numbers are
    // the counts wrapped to int32. Targets stay well within 2^31 of the counts.
    const countArb = fc.oneof(
      fc.integer({ min: INT32_MAX - 40, max: INT32_MAX + 40 }),
      fc.integer({ min: 2 * INT32_MAX - 40, max: 2 * INT32_MAX + 40 }),
      fc.integer({ min: -40, max: 40 }),
      fc.integer({ min: INT32_MIN, max: INT32_MAX }),
    );
    const streamArb = fc.record({
      count: countArb,
      ahead: fc.integer({ min: -20, max: 60 }),
      listed: fc.boolean(),
      array: fc.integer({ min: 0, max: 1 }),
    });
    const stepArb = fc.record({ stream: fc.nat(), by: fc.integer({ min: 0, max: 25 }) });

    fc.assert(
      fc.property(fc.array(streamArb, { minLength: 1, maxLength: 5 }), fc.array(stepArb, { maxLength: 40 }), (streams, steps) => {
        // Two arrays, each stream's word at its own index (index 0 unused, to catch index mix-ups).
        const arrays = [new Int32Array(new SharedArrayBuffer(4 * (streams.length + 1))), new Int32Array(streams.length + 1)];
        const counts = streams.map((s) => s.count);
        const store = (i: number) => Atomics.store(arrays[streams[i]!.array]!, i + 1, counts[i]! | 0);
        streams.forEach((_, i) => store(i));

        const fence = new Fence();
        const targets: Array<[stream: number, seq: number]> = [];
        streams.forEach((s, i) => {
          if (!s.listed) return;
          const seq = s.count + s.ahead;
          targets.push([i, seq]);
          fence.add(arrays[s.array]!, i + 1, seq | 0);
        });
        const reached = () => targets.every(([i, seq]) => counts[i]! >= seq);

        expect(fence.complete).toBe(reached());
        let wasComplete = reached();
        for (const step of steps) {
          const i = step.stream % streams.length;
          counts[i]! += step.by;
          store(i);
          const expected = reached();
          expect(fence.complete).toBe(expected);
          // Once complete, always complete.
          if (wasComplete) expect(expected).toBe(true);
          wasComplete = expected;
        }
        // Every stream catching up completes the fence.
        targets.forEach(([i, seq]) => {
          counts[i] = Math.max(counts[i]!, seq);
          store(i);
        });
        expect(fence.complete).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

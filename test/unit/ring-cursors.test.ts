import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CommandReader, CommandWriter, type KernelArg, kernelSlots } from '../../src/protocol/command.js';
import { DEVICE_CONTROL_BYTES, DeviceWord, RING_SLOTS, StreamWord, streamWordIndex } from '../../src/protocol/layout.js';
import { RingProducer, discardPendingCommands, hasCompleted } from '../../src/protocol/stream-ring.js';

const STREAM = 2;
const word = (w: number) => streamWordIndex(STREAM, w);

/** One stream's ring with its counters starting at `start` (sequence numbers) and `slot0` (slot cursor). */
function setup(start = 0, slot0 = 0) {
  const buffer = new SharedArrayBuffer(DEVICE_CONTROL_BYTES);
  const control = new Int32Array(buffer);
  control[word(StreamWord.SUBMITTED)] = start;
  control[word(StreamWord.COMPLETED)] = start;
  control[word(StreamWord.READ_SLOT)] = slot0;
  const producer = new RingProducer(control, STREAM);
  const writer = new CommandWriter(buffer, STREAM);
  const reader = new CommandReader(buffer, STREAM);
  /** A consumer as the worker is: reads SUBMITTED, skips each command's slots, stores COMPLETED. */
  const consume = (count: number): number => {
    let done = 0;
    while (done < count && Atomics.load(control, word(StreamWord.COMPLETED)) !== Atomics.load(control, word(StreamWord.SUBMITTED))) {
      const slot = control[word(StreamWord.READ_SLOT)]!;
      control[word(StreamWord.READ_SLOT)] = (slot + reader.slots(slot)) | 0;
      Atomics.store(control, word(StreamWord.COMPLETED), (control[word(StreamWord.COMPLETED)]! + 1) | 0);
      done++;
    }
    return done;
  };
  /** Writes and publishes a kernel of `argc` arguments; false if it does not fit. */
  const produce = (argc: number): boolean => {
    const slots = kernelSlots(argc);
    if (!producer.hasRoom(slots)) return false;
    writer.writeKernel(producer.writeSlot, 1, new Array<KernelArg>(argc).fill(1), 1);
    producer.commit(slots);
    return true;
  };
  return { control, producer, consume, produce };
}

describe('the ring cursors', () => {
  it('publishes with one store of SUBMITTED and rings the doorbell only for a sleeping consumer', () => {
    const { control, producer } = setup();
    producer.advance(1);
    producer.advance(2);
    expect(control[word(StreamWord.SUBMITTED)]).toBe(0);
    producer.publish();
    expect(control[word(StreamWord.SUBMITTED)]).toBe(2);
    expect(control[DeviceWord.DOORBELL]).toBe(0);
    control[DeviceWord.SLEEPING] = 1;
    expect(producer.commit(1)).toBe(3);
    expect(control[DeviceWord.DOORBELL]).toBe(1);
  });

  it('derives free space from the consumer: full after RING_SLOTS slots, free again as commands complete', () => {
    const { producer, consume, produce } = setup();
    let sent = 0;
    while (produce(0)) sent++;
    expect(sent).toBe(RING_SLOTS);
    expect(producer.freeSlots()).toBe(0);
    expect(consume(3)).toBe(3);
    expect(producer.freeSlots()).toBe(3);
    expect(producer.hasRoom(kernelSlots(60))).toBe(false);
  });

  it('never overruns the consumer nor overstates free space, across the int32 wrap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2 ** 31 - 3000, max: 2 ** 31 - 1 }),
        fc.integer({ min: 2 ** 31 - 5000, max: 2 ** 31 - 1 }),
        fc.array(fc.oneof(fc.record({ produce: fc.integer({ min: 0, max: 64 }) }), fc.record({ consume: fc.integer({ min: 1, max: 40 }) })), { maxLength: 600 }),
        (start, slot0, steps) => {
          const { control, producer, consume, produce } = setup(start | 0, slot0 | 0);
          let inFlight = 0; // slots written and not yet consumed, tracked independently
          const sizes: number[] = [];
          for (const step of steps) {
            if ('produce' in step) {
              const slots = kernelSlots(step.produce);
              const fits = RING_SLOTS - inFlight >= slots;
              expect(produce(step.produce)).toBe(fits);
              if (fits) {
                inFlight += slots;
                sizes.push(slots);
              }
            } else {
              const done = consume(step.consume);
              for (let i = 0; i < done; i++) inFlight -= sizes.shift()!;
            }
            expect(inFlight).toBeLessThanOrEqual(RING_SLOTS);
            expect(producer.freeSlots()).toBe(RING_SLOTS - inFlight);
            expect(((control[word(StreamWord.SUBMITTED)]! - control[word(StreamWord.COMPLETED)]!) | 0)).toBe(sizes.length);
          }
        },
      ),
      { numRuns: 100 },
    );
  });

  it('names the first command whose completion frees the wanted room, across the int32 wrap', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2 ** 31 - 300, max: 2 ** 31 - 1 }),
        fc.array(fc.integer({ min: 0, max: 64 }), { minLength: 1, maxLength: 200 }),
        fc.integer({ min: 1, max: RING_SLOTS }),
        (start, argcs, wanted) => {
          const { producer, consume, produce } = setup(start | 0, 0);
          for (const argc of argcs) if (!produce(argc)) break;
          const target = producer.countFreeing(wanted);
          const first = producer.completed();
          expect(target).toBeGreaterThanOrEqual(first);
          expect(target).toBeLessThanOrEqual(producer.written);
          // One command short of the target leaves less room (unless the target is the first outstanding one)…
          if (target > first + 1) {
            consume(target - first - 1);
            expect(producer.freeSlots()).toBeLessThan(wanted);
            consume(1);
          } else consume(target - first);
          // …and the target itself frees it, unless nothing can (then it is the last command).
          if (target < producer.written) expect(producer.freeSlots()).toBeGreaterThanOrEqual(wanted);
          else expect(producer.completed()).toBe(producer.written);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('compares sequence numbers wrap-safely', () => {
    expect(hasCompleted(5, 5)).toBe(true);
    expect(hasCompleted(4, 5)).toBe(false);
    expect(hasCompleted(-(2 ** 31), 2 ** 31 - 1)).toBe(true); // one past the wrap
    expect(hasCompleted(2 ** 31 - 1, -(2 ** 31))).toBe(false);
  });

  it('discards pending commands as if completed, moving the consumer past their slots', () => {
    const { control, producer, produce } = setup(100, 1020);
    produce(0);
    produce(20);
    produce(64);
    control[word(StreamWord.HOST_PENDING)] = 7;
    discardPendingCommands(control, STREAM);
    expect(control[word(StreamWord.COMPLETED)]).toBe(103);
    expect(control[word(StreamWord.READ_SLOT)]).toBe(1020 + 1 + kernelSlots(20) + kernelSlots(64));
    expect(control[word(StreamWord.HOST_PENDING)]).toBe(0);
    expect(producer.freeSlots()).toBe(RING_SLOTS);
  });

  it('counts commands past the int32 wrap: a position 2^31 and more behind is still complete', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 52 }), fc.integer({ min: 1, max: 64 }), (start, n) => {
        const { control, consume } = setup(start | 0, 0);
        const producer = new RingProducer(control, STREAM, start); // the host's count the words stand for
        expect(producer.completed()).toBe(start);
        for (let i = 0; i < n; i++) producer.commit(1); // counts only: the commands' words do not matter here
        expect(producer.written).toBe(start + n);
        expect(producer.completed()).toBe(start);
        consume(n);
        expect(producer.completed()).toBe(start + n);
        // The int32 comparison the words allow would call this long-past position "not yet".
        const longAgo = start - 2 ** 31 - 5;
        expect(hasCompleted(control[word(StreamWord.COMPLETED)]!, longAgo | 0)).toBe(false);
        expect(producer.completed() >= longAgo).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});

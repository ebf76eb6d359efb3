import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { StagingRing } from '../../src/memory/staging-ring.js';

interface Chunk {
  start: number;
  end: number;
  done: boolean;
}

function overlaps(a: { start: number; end: number }, b: { start: number; end: number }): boolean {
  return a.start < b.end && b.start < a.end;
}

/** A ring plus the chunks it handed out, each completed by hand. */
class Harness {
  readonly ring: StagingRing;
  readonly chunks: Chunk[] = [];

  constructor(
    readonly base: number,
    readonly capacity: number,
  ) {
    this.ring = new StagingRing(base, capacity);
  }

  /** Ring-relative start of a new chunk, or -1. */
  allocate(bytes: number): number {
    const chunk: Chunk = { start: -1, end: -1, done: false };
    const at = this.ring.allocate(bytes, () => chunk.done);
    if (at < 0) return -1;
    chunk.start = at - this.base;
    chunk.end = chunk.start + bytes;
    this.chunks.push(chunk);
    return chunk.start;
  }

  /** Chunks not yet reclaimable in FIFO order: from the first one not done. */
  held(): Chunk[] {
    const first = this.chunks.findIndex((c) => !c.done);
    return first < 0 ? [] : this.chunks.slice(first);
  }
}

describe('StagingRing', () => {
  test('chunkLimit is a quarter of the ring, at least one byte', () => {
    expect(new StagingRing(0, 4096).chunkLimit).toBe(1024);
    expect(new StagingRing(0, 10).chunkLimit).toBe(2);
    expect(new StagingRing(0, 3).chunkLimit).toBe(1);
    expect(new StagingRing(0, 0).chunkLimit).toBe(1);
  });

  test('hands out consecutive chunks at absolute offsets from its base', () => {
    const h = new Harness(5000, 1000);
    expect(h.ring.allocate(100, () => false)).toBe(5000);
    expect(h.ring.allocate(200, () => false)).toBe(5100);
    expect(h.ring.allocate(700, () => false)).toBe(5300);
    expect(h.ring.allocate(1, () => false)).toBe(-1);
  });

  test('never hands out more than its capacity', () => {
    const ring = new StagingRing(0, 100);
    expect(ring.allocate(101, () => true)).toBe(-1);
    expect(ring.allocate(100, () => true)).toBe(0);
  });

  test('reclaims in FIFO order only: a done chunk behind a busy one stays held', () => {
    const h = new Harness(0, 300);
    h.allocate(100); // A [0, 100)
    h.allocate(100); // B [100, 200)
    h.allocate(100); // C [200, 300)
    h.chunks[1]!.done = true; // B done, A still busy
    expect(h.allocate(100)).toBe(-1);
    h.chunks[0]!.done = true; // A and B reclaimable now
    expect(h.allocate(150)).toBe(0); // wraps to the front: [0, 150)
    expect(h.allocate(50)).toBe(150); // [150, 200) fills up to C
    expect(h.allocate(1)).toBe(-1);
  });

  test('wraps to the front when the tail has no room, and waits for the head to move', () => {
    const h = new Harness(0, 100);
    h.allocate(40); // A [0, 40)
    h.allocate(40); // B [40, 80)
    expect(h.allocate(30)).toBe(-1); // 20 left at the end, head at 0
    h.chunks[0]!.done = true;
    expect(h.allocate(30)).toBe(0); // [80, 100) too small: front [0, 30)
    expect(h.allocate(11)).toBe(-1); // only [30, 40) before B
    expect(h.allocate(10)).toBe(30);
    h.chunks[1]!.done = true; // B gone: held are [0, 30) and [30, 40)
    expect(h.allocate(60)).toBe(40);
  });

  test('reset drops every chunk, done or not', () => {
    const h = new Harness(0, 100);
    h.allocate(100);
    expect(h.allocate(1)).toBe(-1);
    h.ring.reset();
    expect(h.ring.allocate(100, () => false)).toBe(0);
  });

  test('keeps working after many reclaimed chunks (compaction of its chunk list)', () => {
    const h = new Harness(0, 1024);
    // Far more chunks than the compaction threshold, completed in order while others stay busy.
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 40; i++) expect(h.allocate(8)).toBeGreaterThanOrEqual(0);
      const busy = h.chunks.filter((c) => !c.done);
      for (const c of busy.slice(0, busy.length - 10)) c.done = true;
      const held = h.held();
      const at = h.allocate(16);
      expect(at).toBeGreaterThanOrEqual(0);
      for (const c of held) expect(overlaps({ start: at, end: at + 16 }, c)).toBe(false);
    }
  });

  type Op = { kind: 'alloc'; bytes: number } | { kind: 'finish'; pick: number } | { kind: 'reclaim' };

  test('random sequences never hand out a chunk overlapping one still held, and place chunks FIFO', () => {
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      { weight: 5, arbitrary: fc.integer({ min: 1, max: 300 }).map((bytes) => ({ kind: 'alloc' as const, bytes })) },
      { weight: 4, arbitrary: fc.nat().map((pick) => ({ kind: 'finish' as const, pick })) },
      { weight: 1, arbitrary: fc.constant({ kind: 'reclaim' as const }) },
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1024 }), fc.nat({ max: 1 << 20 }), fc.array(opArb, { maxLength: 120 }), (capacity, base, ops) => {
        const h = new Harness(base, capacity);
        for (const op of ops) {
          if (op.kind === 'alloc') {
            const held = h.held();
            // The reference FIFO: free space is after the newest chunk (to the end, or from
            // the front up to the oldest one if nothing has wrapped), else between them.
            let expected: number;
            if (op.bytes > capacity) expected = -1;
            else if (held.length === 0) expected = 0;
            else {
              const head = held[0]!.start;
              const tail = held[held.length - 1]!.end;
              const wrapped = held.some((c, i) => i > 0 && c.start < held[i - 1]!.start);
              if (!wrapped) expected = capacity - tail >= op.bytes ? tail : head >= op.bytes ? 0 : -1;
              else expected = head - tail >= op.bytes ? tail : -1;
            }
            const at = h.allocate(op.bytes);
            expect(at).toBe(expected);
            if (at >= 0) {
              expect(at + op.bytes).toBeLessThanOrEqual(capacity);
              const fresh = { start: at, end: at + op.bytes };
              // Independent of the reference: no overlap with any chunk whose copy is not done.
              for (const c of held) expect(overlaps(fresh, c)).toBe(false);
            }
          } else if (op.kind === 'finish') {
            const busy = h.chunks.filter((c) => !c.done);
            if (busy.length > 0) busy[op.pick % busy.length]!.done = true;
          } else {
            h.ring.reclaim();
          }
        }
        // Once every copy is done the whole ring is available again.
        for (const c of h.chunks) c.done = true;
        expect(h.ring.allocate(capacity, () => false)).toBe(base);
      }),
      { numRuns: 300 },
    );
  });
});

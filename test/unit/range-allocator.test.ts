import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { RangeAllocator } from '../../src/memory/range-allocator.js';

/** A live allocation in the reference model. */
interface Live {
  offset: number;
  size: number;
  reserved: number;
}

interface Gap {
  start: number;
  size: number;
}

/** The free space of the model: every maximal hole between live ranges (fully coalesced). */
function gapsOf(live: readonly Live[], capacity: number): Gap[] {
  const sorted = [...live].sort((a, b) => a.offset - b.offset);
  const gaps: Gap[] = [];
  let cursor = 0;
  for (const l of sorted) {
    if (l.offset > cursor) gaps.push({ start: cursor, size: l.offset - cursor });
    cursor = Math.max(cursor, l.offset + l.reserved);
  }
  if (capacity > cursor) gaps.push({ start: cursor, size: capacity - cursor });
  return gaps;
}

/** Best fit: the smallest hole that holds `need`, the lowest such on ties; -1 if none. */
function bestFit(gaps: readonly Gap[], need: number): number {
  let best: Gap | undefined;
  for (const g of gaps) if (g.size >= need && (best === undefined || g.size < best.size)) best = g;
  return best === undefined ? -1 : best.start;
}

function checkInvariants(ra: RangeAllocator, live: readonly Live[], capacity: number, alignment: number): void {
  const sorted = [...live].sort((a, b) => a.offset - b.offset);
  for (const l of sorted) {
    expect(l.offset % alignment).toBe(0);
    expect(l.offset).toBeGreaterThanOrEqual(0);
    expect(l.offset + l.reserved).toBeLessThanOrEqual(capacity);
  }
  for (let i = 1; i < sorted.length; i++) {
    // No two live ranges overlap.
    expect(sorted[i]!.offset).toBeGreaterThanOrEqual(sorted[i - 1]!.offset + sorted[i - 1]!.reserved);
  }
  const liveBytes = live.reduce((sum, l) => sum + l.reserved, 0);
  expect(ra.freeBytes + liveBytes).toBe(capacity);
  const gaps = gapsOf(live, capacity);
  expect(ra.largestFreeRange).toBe(gaps.reduce((max, g) => Math.max(max, g.size), 0));
}

describe('RangeAllocator', () => {
  test('rounds requests up to the alignment and hands out consecutive aligned ranges', () => {
    const ra = new RangeAllocator(4096, 256);
    expect(ra.roundUp(1)).toBe(256);
    expect(ra.roundUp(256)).toBe(256);
    expect(ra.roundUp(257)).toBe(512);
    expect(ra.allocate(1)).toBe(0);
    expect(ra.allocate(300)).toBe(256);
    expect(ra.allocate(256)).toBe(768);
    expect(ra.freeBytes).toBe(4096 - 256 - 512 - 256);
    expect(ra.largestFreeRange).toBe(4096 - 1024);
  });

  test('returns -1 when nothing fits and leaves its state unchanged', () => {
    const ra = new RangeAllocator(1024, 256);
    expect(ra.allocate(1024)).toBe(0);
    expect(ra.allocate(1)).toBe(-1);
    expect(ra.freeBytes).toBe(0);
    expect(ra.largestFreeRange).toBe(0);
    ra.release(0, 1024);
    expect(ra.allocate(1025)).toBe(-1);
    expect(ra.freeBytes).toBe(1024);
    expect(ra.allocate(1024)).toBe(0);
  });

  test('a zero-capacity allocator has nothing to give', () => {
    const ra = new RangeAllocator(0, 256);
    expect(ra.freeBytes).toBe(0);
    expect(ra.largestFreeRange).toBe(0);
    expect(ra.allocate(1)).toBe(-1);
    ra.reset();
    expect(ra.largestFreeRange).toBe(0);
  });

  test('picks the smallest hole that fits, not the first', () => {
    const ra = new RangeAllocator(256 * 16, 256);
    const a = ra.allocate(512); // [0, 512)
    const sep1 = ra.allocate(256); // [512, 768)
    const b = ra.allocate(256); // [768, 1024)
    ra.allocate(256); // [1024, 1280) separator
    ra.release(a, 512); // hole of 512 at 0
    ra.release(b, 256); // hole of 256 at 768
    expect(sep1).toBe(512);
    expect(ra.allocate(200)).toBe(768);
    // The 512 hole is still there for a request that needs it.
    expect(ra.allocate(512)).toBe(0);
  });

  test('coalesces a released range with both neighbours', () => {
    const ra = new RangeAllocator(256 * 4, 256);
    const a = ra.allocate(256);
    const b = ra.allocate(256);
    const c = ra.allocate(256);
    const d = ra.allocate(256);
    ra.release(a, 256);
    ra.release(c, 256);
    expect(ra.largestFreeRange).toBe(256);
    ra.release(b, 256); // joins a and c
    expect(ra.largestFreeRange).toBe(768);
    expect(ra.allocate(768)).toBe(0);
    ra.release(0, 768);
    ra.release(d, 256);
    expect(ra.largestFreeRange).toBe(1024);
    expect(ra.freeBytes).toBe(1024);
  });

  test('a capacity that is not a multiple of the alignment keeps its unusable tail free', () => {
    const ra = new RangeAllocator(1000, 256);
    expect(ra.allocate(1000)).toBe(-1); // rounds to 1024
    expect(ra.allocate(768)).toBe(0);
    expect(ra.freeBytes).toBe(232);
    expect(ra.allocate(1)).toBe(-1);
    ra.release(0, 768);
    expect(ra.largestFreeRange).toBe(1000);
  });

  test('reset frees everything', () => {
    const ra = new RangeAllocator(2048, 256);
    ra.allocate(300);
    ra.allocate(700);
    ra.reset();
    expect(ra.freeBytes).toBe(2048);
    expect(ra.largestFreeRange).toBe(2048);
    expect(ra.allocate(2048)).toBe(0);
  });

  type Op = { kind: 'alloc'; size: number } | { kind: 'release'; pick: number } | { kind: 'reset' };

  const setupArb = fc
    .record({
      alignment: fc.constantFrom(1, 8, 64, 256),
      units: fc.integer({ min: 0, max: 48 }),
      remainder: fc.integer({ min: 0, max: 255 }),
    })
    .map(({ alignment, units, remainder }) => ({ alignment, capacity: units * alignment + (remainder % alignment) }));

  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 50, arbitrary: fc.integer({ min: 1, max: 1024 }).map((size) => ({ kind: 'alloc' as const, size })) },
    { weight: 10, arbitrary: fc.integer({ min: 1, max: 16_384 }).map((size) => ({ kind: 'alloc' as const, size })) },
    { weight: 40, arbitrary: fc.nat().map((pick) => ({ kind: 'release' as const, pick })) },
    { weight: 1, arbitrary: fc.constant({ kind: 'reset' as const }) },
  );

  test('random allocate/release sequences agree with a best-fit reference model', () => {
    fc.assert(
      fc.property(setupArb, fc.array(opArb, { maxLength: 80 }), ({ alignment, capacity }, ops) => {
        const ra = new RangeAllocator(capacity, alignment);
        const live: Live[] = [];
        for (const op of ops) {
          if (op.kind === 'alloc') {
            const need = Math.ceil(op.size / alignment) * alignment;
            const expected = bestFit(gapsOf(live, capacity), need);
            const got = ra.allocate(op.size);
            expect(got).toBe(expected);
            if (got >= 0) live.push({ offset: got, size: op.size, reserved: need });
          } else if (op.kind === 'release') {
            if (live.length === 0) continue;
            const [victim] = live.splice(op.pick % live.length, 1);
            ra.release(victim!.offset, victim!.size);
          } else {
            ra.reset();
            live.length = 0;
          }
          checkInvariants(ra, live, capacity, alignment);
        }
        // Releasing everything, in any order, leaves one free range covering the capacity.
        while (live.length > 0) {
          const [victim] = live.splice(live.length >>> 1, 1);
          ra.release(victim!.offset, victim!.size);
          checkInvariants(ra, live, capacity, alignment);
        }
        expect(ra.freeBytes).toBe(capacity);
        expect(ra.largestFreeRange).toBe(capacity);
        const usable = capacity - (capacity % alignment);
        if (usable > 0) expect(ra.allocate(usable)).toBe(0);
      }),
      { numRuns: 300 },
    );
  });
});

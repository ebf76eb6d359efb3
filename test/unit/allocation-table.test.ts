import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { AllocationTable } from '../../src/memory/allocation-table.js';
import { GRANULE_BYTES } from '../../src/protocol/layout.js';

const G = GRANULE_BYTES;

describe('AllocationTable', () => {
  test('create sizes one entry per granule, rounding a partial granule up', () => {
    const t = AllocationTable.create(10 * G + 1);
    expect(t.owner.length).toBe(11);
    expect(t.size.length).toBe(11);
    expect(t.ownerBuffer).toBeInstanceOf(SharedArrayBuffer);
    expect(t.sizeBuffer).toBeInstanceOf(SharedArrayBuffer);
  });

  test('find returns the base of the allocation holding the whole range', () => {
    const t = AllocationTable.create(16 * G);
    t.claim(2 * G, 3 * G, 2 * G + 100); // [512, 1280) reserved, 612 bytes requested
    expect(t.find(2 * G, 1)).toBe(2 * G);
    expect(t.find(2 * G, 2 * G + 100)).toBe(2 * G);
    expect(t.find(4 * G + 99, 1)).toBe(2 * G);
    expect(t.find(4 * G + 100, 1)).toBe(-1); // padding past the requested size
    expect(t.find(2 * G, 2 * G + 101)).toBe(-1);
    expect(t.find(2 * G - 1, 1)).toBe(-1); // before it
    expect(t.find(0, 1)).toBe(-1);
  });

  test('a range spanning two adjacent allocations belongs to neither', () => {
    const t = AllocationTable.create(8 * G);
    t.claim(0, G, G);
    t.claim(G, G, G);
    expect(t.find(G - 1, 1)).toBe(0);
    expect(t.find(G, 1)).toBe(G);
    expect(t.find(G - 1, 2)).toBe(-1);
  });

  test('find rejects offsets outside the heap and non-numbers', () => {
    const t = AllocationTable.create(4 * G);
    t.claim(0, 4 * G, 4 * G);
    expect(t.find(0, 4 * G)).toBe(0);
    expect(t.find(4 * G, 1)).toBe(-1);
    expect(t.find(-1, 1)).toBe(-1);
    expect(t.find(Number.NaN, 1)).toBe(-1);
    expect(t.find(Number.POSITIVE_INFINITY, 1)).toBe(-1);
  });

  test('clear and reset remove allocations', () => {
    const t = AllocationTable.create(4 * G);
    t.claim(0, G, 10);
    t.claim(G, 2 * G, 2 * G);
    t.clear(0, G);
    expect(t.find(0, 1)).toBe(-1);
    expect(t.find(G, 1)).toBe(G);
    t.reset();
    expect(t.find(G, 1)).toBe(-1);
    expect(Array.from(t.owner)).toEqual([0, 0, 0, 0]);
    expect(Array.from(t.size)).toEqual([0, 0, 0, 0]);
  });

  test('a second view over the same shared buffers (the worker side) sees the same allocations', () => {
    const t = AllocationTable.create(8 * G);
    const worker = new AllocationTable(t.ownerBuffer, t.sizeBuffer);
    t.claim(3 * G, 2 * G, G + 5);
    expect(worker.find(3 * G + G + 4, 1)).toBe(3 * G);
    t.clear(3 * G, 2 * G);
    expect(worker.find(3 * G, 1)).toBe(-1);
  });

  test('random non-overlapping allocations: find agrees with interval containment', () => {
    const heapGranules = 32;
    // Each allocation: a run of granules [start, start + len) and a requested size within it.
    const allocsArb = fc
      .array(fc.record({ len: fc.integer({ min: 1, max: 4 }), gap: fc.integer({ min: 0, max: 3 }), cut: fc.integer({ min: 0, max: G - 1 }) }), {
        maxLength: 10,
      })
      .map((specs) => {
        const out: Array<{ base: number; reserved: number; size: number }> = [];
        let cursor = 0;
        for (const { len, gap, cut } of specs) {
          const start = cursor + gap;
          if (start + len > heapGranules) break;
          out.push({ base: start * G, reserved: len * G, size: len * G - cut });
          cursor = start + len;
        }
        return out;
      });
    const queryArb = fc.tuple(fc.integer({ min: -G, max: heapGranules * G + G }), fc.integer({ min: 1, max: 5 * G }));

    fc.assert(
      fc.property(allocsArb, fc.array(queryArb, { minLength: 1, maxLength: 40 }), (allocs, queries) => {
        const t = AllocationTable.create(heapGranules * G);
        for (const a of allocs) t.claim(a.base, a.reserved, a.size);
        for (const [offset, bytes] of queries) {
          const holder = allocs.find((a) => a.base <= offset && offset + bytes <= a.base + a.size);
          expect(t.find(offset, bytes)).toBe(holder === undefined ? -1 : holder.base);
        }
      }),
      { numRuns: 200 },
    );
  });
});

import { describe, expect, test } from 'vitest';
import { HostMemory } from '../../src/memory/host-memory.js';
import { GRANULE_BYTES } from '../../src/protocol/layout.js';
import { Fence } from '../../src/protocol/fence.js';

const G = GRANULE_BYTES;
const STAGING = 4 * G;
const PINNED = 8 * G;

function completeFence(): Fence {
  return new Fence();
}

/** A fence that completes when `words[0]` reaches 1. */
function pendingFence(words: Int32Array): Fence {
  const f = new Fence();
  f.add(words, 0, 1);
  return f;
}

describe('HostMemory', () => {
  test('one shared pool: the staging ring first, pinned allocations after it', () => {
    const host = new HostMemory(STAGING, PINNED);
    expect(host.pool).toBeInstanceOf(SharedArrayBuffer);
    expect(host.pool.byteLength).toBe(STAGING + PINNED);
    expect(host.poolBytes.buffer).toBe(host.pool);
    expect(host.staging.base).toBe(0);
    expect(host.staging.capacity).toBe(STAGING);
    expect(host.pinned.ranges.capacity).toBe(PINNED);

    const staged = host.staging.allocate(STAGING, () => false);
    const view = host.allocate(PINNED, 0)!;
    expect(staged).toBe(0);
    expect(view.byteOffset).toBe(STAGING);
    expect(view.byteLength).toBe(PINNED);
  });

  test('allocate returns a view of the pool of the requested length, aligned to a granule', () => {
    const host = new HostMemory(STAGING, PINNED);
    const a = host.allocate(100, 0)!;
    const b = host.allocate(300, 1)!;
    for (const [v, n] of [
      [a, 100],
      [b, 300],
    ] as const) {
      expect(v.buffer).toBe(host.pool);
      expect(v.byteLength).toBe(n);
      expect((v.byteOffset - STAGING) % G).toBe(0);
      expect(v.byteOffset).toBeGreaterThanOrEqual(STAGING);
    }
    expect(b.byteOffset).toBeGreaterThanOrEqual(a.byteOffset + G);
    a.fill(0xaa);
    b.fill(0x55);
    expect(a.every((x) => x === 0xaa)).toBe(true);
  });

  test('allocate returns undefined when the pinned region is exhausted', () => {
    const host = new HostMemory(STAGING, PINNED);
    expect(host.allocate(PINNED + 1, 0)).toBeUndefined();
    expect(host.allocate(PINNED, 0)).toBeDefined();
    expect(host.allocate(1, 0)).toBeUndefined();
  });

  test('isPinned: true only for views wholly inside one live allocation', () => {
    const host = new HostMemory(STAGING, PINNED);
    const a = host.allocate(300, 0)!;
    expect(host.isPinned(a)).toBe(true);
    expect(host.isPinned(a.subarray(10, 20))).toBe(true);
    expect(host.isPinned(new Float32Array(host.pool, a.byteOffset + 8, 10))).toBe(true);
    expect(host.isPinned(new Uint8Array(host.pool, a.byteOffset, 301))).toBe(false); // past its end
    expect(host.isPinned(new Uint8Array(host.pool, 0, 16))).toBe(false); // staging region
    expect(host.isPinned(new Uint8Array(300))).toBe(false); // another buffer
    expect(host.findPinned(a.subarray(5), 295)).toBe(a.byteOffset + 5);
    expect(host.findPinned(a.subarray(5), 296)).toBe(-1);
  });

  test('allocationOf gives the whole allocation and the device current at allocation', () => {
    const host = new HostMemory(STAGING, PINNED);
    host.allocate(10, 0);
    const b = host.allocate(500, 3)!;
    const found = host.allocationOf(b.subarray(450, 460))!;
    expect(found.device).toBe(3);
    expect(found.base.buffer).toBe(host.pool);
    expect(found.base.byteOffset).toBe(b.byteOffset);
    expect(found.base.byteLength).toBe(500);
    expect(host.allocationOf(new Uint8Array(host.pool, b.byteOffset + 500, 4))).toBeUndefined(); // padding
    expect(host.allocationOf(new Uint8Array(host.pool, 8, 4))).toBeUndefined();
    expect(host.allocationOf(new Uint8Array(8))).toBeUndefined();
  });

  test('free accepts only the start of a live allocation', () => {
    const host = new HostMemory(STAGING, PINNED);
    const a = host.allocate(600, 0)!;
    expect(host.free(a.subarray(1), completeFence())).toBe(false);
    expect(host.free(new Uint8Array(600), completeFence())).toBe(false);
    expect(host.free(new Uint8Array(host.pool, 0, 10), completeFence())).toBe(false); // staging
    expect(host.isPinned(a)).toBe(true);
    expect(host.free(a, completeFence())).toBe(true);
    expect(host.isPinned(a)).toBe(false);
    expect(host.allocationOf(a)).toBeUndefined();
    expect(host.free(a, completeFence())).toBe(false);
  });

  test('memory freed behind an incomplete fence is reused only once the fence completes', () => {
    const host = new HostMemory(STAGING, PINNED);
    const words = new Int32Array(1);
    const a = host.allocate(PINNED, 2)!;
    expect(host.free(a, pendingFence(words))).toBe(true);
    expect(host.isPinned(a)).toBe(false);
    expect(host.pinned.hasPendingReleases).toBe(true);
    expect(host.allocate(1, 0)).toBeUndefined();
    Atomics.store(words, 0, 1);
    const again = host.allocate(PINNED, 1)!;
    expect(again.byteOffset).toBe(a.byteOffset);
    expect(host.allocationOf(again)!.device).toBe(1);
  });

  test('a pool with no staging space starts pinned allocations at 0', () => {
    const host = new HostMemory(0, 2 * G);
    const a = host.allocate(G, 0)!;
    expect(a.byteOffset).toBe(0);
    expect(host.isPinned(a)).toBe(true);
    expect(host.staging.allocate(1, () => true)).toBe(-1);
  });
});

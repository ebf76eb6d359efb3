import { describe, expect, it } from 'vitest';
import { ErrorCode, type Runtime } from '../dist/src/index.js';
import { expectCode, gate, useRuntime } from './helpers.js';

describe('the caching pinned host allocator', () => {
  let rt: Runtime;
  useRuntime({}, (r) => {
    rt = r;
  });

  it('hands out pinned blocks rounded to a power of two and reuses them from its cache', () => {
    const a = rt.hostAllocator.allocate(1000);
    expect(a.byteLength).toBe(1000);
    expect(rt.isPinned(a)).toBe(true);
    expect(rt.isPinned(a.subarray(10, 20))).toBe(true);
    expect(rt.hostAllocator.stats()).toMatchObject({ allocatedBytes: 1024, reservedBytes: 1024, cachedBytes: 0 });
    rt.hostAllocator.free(a);
    expect(rt.hostAllocator.stats()).toMatchObject({ allocatedBytes: 0, cachedBytes: 1024 });
    const b = rt.hostAllocator.allocate(900);
    expect(b.byteOffset).toBe(a.byteOffset);
    expect(rt.hostAllocator.stats().cacheHits).toBe(1);
    rt.hostAllocator.free(b);
  });

  it('reuses a block only after the streams that copied through it have finished', async () => {
    const s = rt.streamCreate();
    const dev = rt.malloc(4096);
    const block = rt.hostAllocator.allocate(4096);
    const g = gate(rt, s);
    rt.memcpyAsync(dev, block, 4096, 'hostToDevice', s); // recorded automatically
    rt.hostAllocator.free(block);
    expect(rt.hostAllocator.stats().pendingBytes).toBe(4096);
    const meanwhile = rt.hostAllocator.allocate(4096);
    expect(meanwhile.byteOffset).not.toBe(block.byteOffset);
    g.open();
    await s.synchronize();
    const after = rt.hostAllocator.allocate(4096);
    expect(after.byteOffset).toBe(block.byteOffset);
    rt.hostAllocator.free(meanwhile);
    rt.hostAllocator.free(after);
    rt.free(dev);
  });

  it('recordStream marks uses the runtime cannot see', async () => {
    const s = rt.streamCreate();
    const block = rt.hostAllocator.allocate(512);
    const g = gate(rt, s);
    rt.hostAllocator.recordStream(block, s);
    rt.hostAllocator.free(block);
    expect(rt.hostAllocator.allocate(512).byteOffset).not.toBe(block.byteOffset);
    g.open();
    await s.synchronize();
    expect(rt.hostAllocator.stats().pendingBytes).toBe(0);
  });

  it('emptyCache gives cached blocks back to the pinned pool', () => {
    rt.hostAllocator.emptyCache();
    const live = rt.hostAllocator.stats().allocatedBytes;
    rt.hostAllocator.free(rt.hostAllocator.allocate(2 << 20));
    expect(rt.hostAllocator.stats().cachedBytes).toBeGreaterThanOrEqual(2 << 20);
    rt.hostAllocator.emptyCache();
    expect(rt.hostAllocator.stats()).toMatchObject({ cachedBytes: 0, reservedBytes: live });
  });

  it('validates its arguments', () => {
    expectCode(() => rt.hostAllocator.allocate(0), ErrorCode.INVALID_VALUE);
    const block = rt.hostAllocator.allocate(64);
    expectCode(() => rt.hostAllocator.free(block.subarray(8)), ErrorCode.INVALID_VALUE);
    rt.hostAllocator.free(block);
    expectCode(() => rt.hostAllocator.free(block), ErrorCode.INVALID_VALUE);
    expectCode(() => rt.hostAllocator.free(new Uint8Array(64)), ErrorCode.INVALID_VALUE);
    const other = rt.hostAllocator.allocate(64);
    expectCode(() => rt.hostAllocator.recordStream(other, {} as never), ErrorCode.INVALID_HANDLE);
    rt.hostAllocator.free(other);
  });
});

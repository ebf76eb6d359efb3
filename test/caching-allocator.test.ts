import { describe, expect, it } from 'vitest';
import { DeviceBlock, ErrorCode, type KernelModule, type Runtime } from '../dist/src/index.js';
import { expectCode, gate, useRuntime } from './helpers.js';

const MiB = 1 << 20;

describe('the caching device allocator', () => {
  let rt: Runtime;
  let mod: KernelModule;
  useRuntime({ deviceMemoryBytes: 48 * MiB }, (r, kernels) => {
    rt = r;
    mod = kernels;
  });

  const stats = (device = 0) => rt.cachingAllocator.memoryStats(device);
  const reset = () => {
    rt.cachingAllocator.emptyCache();
    rt.cachingAllocator.resetPeakMemoryStats(0);
  };

  it('a block handle from before a deviceReset frees nothing, not even a newer block at the same address', async () => {
    const stale = rt.cachingAllocator.allocate(1024);
    await rt.deviceReset(0);
    const fresh = rt.cachingAllocator.allocate(1024);
    expect(fresh.ptr).toBe(stale.ptr);
    expectCode(() => rt.cachingAllocator.free(stale), ErrorCode.INVALID_VALUE);
    expect(stats().allocatedBytes.all.current).toBe(1024);
    rt.cachingAllocator.free(fresh);
    expect(stats().allocatedBytes.all.current).toBe(0);
  });

  it('rounds to 512 bytes and serves small requests from 2 MiB segments', () => {
    reset();
    const a = rt.cachingAllocator.allocate(1);
    expect(a).toBeInstanceOf(DeviceBlock);
    expect(a.requested).toBe(1);
    expect(a.device).toBe(0);
    let s = stats();
    expect(s.allocatedBytes.all.current).toBe(512);
    expect(s.allocatedBytes.smallPool.current).toBe(512);
    expect(s.reservedBytes.smallPool.current).toBe(2 * MiB);
    expect(s.reservedBytes.largePool.current).toBe(0);
    rt.cachingAllocator.free(a);
    s = stats();
    expect(s.allocatedBytes.all.current).toBe(0);
    expect(s.reservedBytes.all.current).toBe(2 * MiB); // cached, not returned
  });

  it('splits a segment and merges its blocks back when freed', () => {
    reset();
    const s = rt.streamCreate();
    const x = rt.cachingAllocator.allocate(512, s);
    const y = rt.cachingAllocator.allocate(600, s);
    expect(y.ptr).toBe(x.ptr + 512);
    expect(stats().reservedBytes.all.current).toBe(2 * MiB);
    rt.cachingAllocator.free(x);
    rt.cachingAllocator.free(y);
    const whole = rt.cachingAllocator.allocate(MiB, s); // needs the merged range
    expect(whole.ptr).toBe(x.ptr);
    rt.cachingAllocator.free(whole);
  });

  it('serves large requests from 20 MiB segments, or a 2 MiB-rounded one of their own', () => {
    reset();
    const a = rt.cachingAllocator.allocate(5 * MiB);
    expect(stats().reservedBytes.largePool.current).toBe(20 * MiB);
    const fromRemainder = rt.cachingAllocator.allocate(11 * MiB); // split from the 15 MiB left
    expect(fromRemainder.ptr).toBe(a.ptr + 5 * MiB);
    expect(stats().reservedBytes.largePool.current).toBe(20 * MiB);
    rt.cachingAllocator.free(fromRemainder);
    const b = rt.cachingAllocator.allocate(16 * MiB + 5); // too big for the remainder: its own segment
    expect(stats().reservedBytes.largePool.current).toBe(20 * MiB + 18 * MiB);
    expect(stats().allocatedBytes.largePool.current).toBe(5 * MiB + 16 * MiB + 512);
    rt.cachingAllocator.free(a);
    rt.cachingAllocator.free(b);
  });

  it('reuses a freed block at once on the same stream, never on another', () => {
    reset();
    const s1 = rt.streamCreate();
    const s2 = rt.streamCreate();
    const b1 = rt.cachingAllocator.allocate(1000, s1);
    rt.cachingAllocator.free(b1);
    const again = rt.cachingAllocator.allocate(1000, s1);
    expect(again.ptr).toBe(b1.ptr);
    rt.cachingAllocator.free(again);
    const other = rt.cachingAllocator.allocate(1000, s2);
    expect(other.ptr).not.toBe(b1.ptr);
    rt.cachingAllocator.free(other);
  });

  it('recordStream delays reuse until the other stream has finished its work', async () => {
    reset();
    const s1 = rt.streamCreate();
    const s2 = rt.streamCreate();
    const block = rt.cachingAllocator.allocate(4096, s1);
    const g = gate(rt, s2);
    rt.launchKernel(mod.getFunction('fill'), [block.ptr, 1024, 1], s2);
    rt.cachingAllocator.recordStream(block, s2);
    rt.cachingAllocator.free(block);
    expect(stats().activeBytes.all.current).toBe(4096); // freed, still in use by s2
    expect(stats().allocatedBytes.all.current).toBe(0);
    const meanwhile = rt.cachingAllocator.allocate(4096, s1);
    expect(meanwhile.ptr).not.toBe(block.ptr);
    g.open();
    await s2.synchronize();
    const after = rt.cachingAllocator.allocate(4096, s1);
    expect(after.ptr).toBe(block.ptr);
    expect(stats().activeBytes.all.current).toBe(8192);
    rt.cachingAllocator.free(meanwhile);
    rt.cachingAllocator.free(after);
  });

  it('on OOM frees cached segments and retries; then reports requested, free, allocated and reserved', () => {
    reset();
    const before = stats();
    const s1 = rt.streamCreate();
    const s2 = rt.streamCreate();
    // Two 20 MiB segments, cached on different streams: 40 of the 48 MiB reserved.
    rt.cachingAllocator.free(rt.cachingAllocator.allocate(5 * MiB, s1));
    rt.cachingAllocator.free(rt.cachingAllocator.allocate(5 * MiB, s2));
    expect(stats().reservedBytes.all.current).toBe(40 * MiB);
    const big = rt.cachingAllocator.allocate(30 * MiB, s1); // fits only once the cache is freed
    expect(stats().numAllocRetries).toBe(before.numAllocRetries + 1);
    expect(stats().reservedBytes.all.current).toBe(30 * MiB);
    const e = expectCode(() => rt.cachingAllocator.allocate(30 * MiB, s1), ErrorCode.OUT_OF_MEMORY);
    expect(e.message).toMatch(/tried to allocate 31457280 bytes/);
    expect(e.message).toMatch(/\d+ bytes free of 50331648/);
    expect(e.message).toMatch(/31457280 bytes allocated; 31457280 bytes reserved/);
    expect(stats().numOoms).toBe(before.numOoms + 1);
    rt.cachingAllocator.free(big);
  });

  it('on OOM first waits for blocks held back by recordStream, then frees the cache and retries', () => {
    reset();
    const before = stats();
    const s = rt.streamCreate();
    const o = rt.streamCreate();
    const b = rt.cachingAllocator.allocate(40 * MiB, s);
    rt.launchKernel(mod.getFunction('spin'), [150], o);
    rt.cachingAllocator.recordStream(b, o);
    rt.cachingAllocator.free(b); // held until o's 150 ms kernel ends
    const c = rt.cachingAllocator.allocate(30 * MiB, s); // only fits in b's memory
    expect(stats().numAllocRetries).toBe(before.numAllocRetries + 1);
    expect(stats().numOoms).toBe(before.numOoms);
    expect(rt.streamQuery(o)).toBe(true);
    rt.cachingAllocator.free(c);
    // emptyCache also waits for held blocks before giving segments back.
    const d = rt.cachingAllocator.allocate(8 * MiB, s);
    rt.launchKernel(mod.getFunction('spin'), [50], o);
    rt.cachingAllocator.recordStream(d, o);
    rt.cachingAllocator.free(d);
    rt.cachingAllocator.emptyCache();
    expect(stats().reservedBytes.all.current).toBe(0);
  });

  it('emptyCache returns unused segments; peaks reset on request', () => {
    const s = rt.streamCreate();
    const keep = rt.cachingAllocator.allocate(100, s);
    const drop = rt.cachingAllocator.allocate(3 * MiB, s);
    rt.cachingAllocator.free(drop);
    rt.cachingAllocator.emptyCache();
    expect(stats().reservedBytes.all.current).toBe(2 * MiB); // only keep's segment
    expect(stats().allocatedBytes.all.peak).toBeGreaterThanOrEqual(3 * MiB);
    rt.cachingAllocator.resetPeakMemoryStats(0);
    expect(stats().allocatedBytes.all.peak).toBe(512);
    rt.cachingAllocator.free(keep);
    rt.cachingAllocator.emptyCache();
    expect(stats().reservedBytes.all.current).toBe(0);
  });

  it('blocks are device memory that kernels and copies use; state is per device', async () => {
    const b = rt.withDevice(1, () => rt.cachingAllocator.allocate(400));
    expect(b.device).toBe(1);
    expect(rt.pointerGetAttributes(b.ptr).device).toBe(1);
    rt.launchKernel(mod.getFunction('fill'), [b.ptr, 100, 2], b.stream);
    const out = new Float32Array(100);
    await rt.memcpy(out, b.ptr, 400);
    expect(out.every((v) => v === 2)).toBe(true);
    expect(stats(1).allocatedBytes.all.current).toBe(512);
    expect(stats(0).allocatedBytes.all.current).toBe(0);
    rt.cachingAllocator.free(b.ptr);
  });

  it('in a fragmented cache, serves best fit (smallest free block, then lowest address) and frees by address after merges', () => {
    reset();
    const s = rt.streamCreate();
    // 400 blocks of mixed sizes in one segment's worth of small pool, every other one freed: a cache of holes.
    const sizes = Array.from({ length: 400 }, (_, i) => 512 * (1 + ((i * 7) % 5)));
    const blocks = sizes.map((n) => rt.cachingAllocator.allocate(n, s));
    for (let i = 0; i < blocks.length; i += 2) rt.cachingAllocator.free(blocks[i]!.ptr); // by address
    const holes = blocks.filter((_, i) => i % 2 === 0).map((b, k) => ({ ptr: b.ptr, size: sizes[2 * k]! }));
    for (const want of [512, 1024, 1536, 2048, 2560]) {
      const fit = holes.filter((h) => h.size >= want).sort((a, b) => a.size - b.size || a.ptr - b.ptr)[0]!;
      const got = rt.cachingAllocator.allocate(want, s);
      expect(got.ptr).toBe(fit.ptr);
      holes.splice(holes.indexOf(fit), 1);
      if (fit.size > want) holes.push({ ptr: fit.ptr + want, size: fit.size - want }); // the split's remainder stays free
      rt.cachingAllocator.free(got.ptr);
      holes.push({ ptr: fit.ptr, size: want });
      holes.sort((a, b) => a.ptr - b.ptr);
      // The remainder merges back: the free neighbours are one hole again.
      for (let k = holes.length - 1; k > 0; k--) {
        if (holes[k - 1]!.ptr + holes[k - 1]!.size === holes[k]!.ptr) {
          holes[k - 1]!.size += holes[k]!.size;
          holes.splice(k, 1);
        }
      }
    }
    // Freeing the rest by address merges everything back into the segment's first block.
    for (let i = 1; i < blocks.length; i += 2) rt.cachingAllocator.free(blocks[i]!.ptr);
    expect(stats().allocatedBytes.all.current).toBe(0);
    const whole = rt.cachingAllocator.allocate(MiB, s);
    expect(whole.ptr).toBe(blocks[0]!.ptr);
    expectCode(() => rt.cachingAllocator.free(whole.ptr + 512), ErrorCode.INVALID_VALUE); // inside a block, not its start
    rt.cachingAllocator.free(whole.ptr);
  });

  it('is consistent under concurrent async use from many tasks and streams', async () => {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        rt.withDevice(i % 2, async () => {
          const s = rt.streamCreate();
          for (let k = 0; k < 10; k++) {
            const b = rt.cachingAllocator.allocate(1000 * (k + 1) + i, s);
            rt.launchKernel(mod.getFunction('fill'), [b.ptr, 16, k], s);
            await new Promise((r) => setImmediate(r));
            rt.cachingAllocator.free(b);
          }
          await s.synchronize();
        }),
      ),
    );
    expect(stats(0).allocatedBytes.all.current).toBe(0);
    expect(stats(1).allocatedBytes.all.current).toBe(0);
  });

  it('validates its arguments', () => {
    expectCode(() => rt.cachingAllocator.allocate(0), ErrorCode.INVALID_VALUE);
    expectCode(() => rt.cachingAllocator.allocate(1.5), ErrorCode.INVALID_VALUE);
    expectCode(() => rt.cachingAllocator.free(12345), ErrorCode.INVALID_VALUE);
    const b = rt.cachingAllocator.allocate(10);
    rt.cachingAllocator.free(b);
    expectCode(() => rt.cachingAllocator.free(b), ErrorCode.INVALID_VALUE);
    const s = rt.streamCreate();
    s.destroy();
    expectCode(() => rt.cachingAllocator.allocate(10, s), ErrorCode.INVALID_HANDLE);
    expectCode(() => rt.cachingAllocator.memoryStats(5), ErrorCode.INVALID_DEVICE);
    expectCode(() => rt.cachingAllocator.resetPeakMemoryStats(-1), ErrorCode.INVALID_DEVICE);
    const live = rt.cachingAllocator.allocate(10);
    expectCode(() => rt.cachingAllocator.recordStream(live, 'stream' as never), ErrorCode.INVALID_HANDLE);
    expectCode(() => rt.cachingAllocator.recordStream(999, rt.defaultStream()), ErrorCode.INVALID_VALUE);
    rt.cachingAllocator.free(live);
  });
});

import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { ErrorCode, type Runtime, empty, ones, randn, tensor } from '../dist/src/index.js';
import { expectCode, runScript, useTensorRuntime } from './helpers.js';

// OpenReg's test_memory.py: allocation lifecycles, no leaks across copies, views, in-place
// ops and gradients, isolation between devices, pinned memory, and the GC backstop.
let rt: Runtime;
useTensorRuntime({ deviceCount: 2, deviceMemoryBytes: 16 << 20 }, (r) => (rt = r));

const allocated = (d = 0) => rt.cachingAllocator.memoryStats(d).allocatedBytes.all.current;

describe('tensor memory', () => {
  it('returns every byte after many cycles of copies, views, in-place ops and graphs', async () => {
    const before = [allocated(0), allocated(1)];
    for (let i = 0; i < 100; i++) {
      using x = randn([500], { device: 'openreg' });
      using host = x.cpuSync();
      using back = host.to('openreg:1');
      using cloned = back.clone();
      using v1 = x.view(10, 50);
      using v2 = x.slice(0, 100, 200);
      using v3 = x.reshape(20, 25);
      using inplace = ones([1000], { device: 'openreg' });
      inplace.add_(1).mul_(2).div_(2).sub_(1);
      using a = randn([100], { device: 'openreg', requiresGrad: true });
      using b = randn([100], { device: 'openreg', requiresGrad: true });
      using z = a.add(b);
      void [v1, v2, v3, cloned, z];
    }
    await rt.deviceSynchronize();
    expect([allocated(0), allocated(1)]).toEqual(before);
  });

  it('keeps the devices’ memory apart', () => {
    const on0 = Array.from({ length: 10 }, () => empty([1000], { device: 'openreg:0' }));
    const on1 = Array.from({ length: 10 }, () => empty([1000], { device: 'openreg:1' }));
    const p0 = new Set(on0.map((t) => t.dataPtr()));
    expect(on1.some((t) => p0.has(t.dataPtr()))).toBe(false);
    expect(on1.every((t) => rt.pointerGetAttributes(t.dataPtr()).device === 1)).toBe(true);
    for (const t of [...on0, ...on1]) t.dispose();
  });

  it('a tensor larger than the device is the out-of-memory error, and the device stays usable', async () => {
    expectCode(() => empty([8 << 20], { device: 'openreg' }), ErrorCode.OUT_OF_MEMORY);
    expect(await ones([3], { device: 'openreg' }).sum().item()).toBe(3);
  });

  it('pinMemory copies a cpu tensor into pinned memory that device copies read directly', async () => {
    const t = tensor([1, 2, 3], { dtype: 'float32' });
    expect(t.isPinned()).toBe(false);
    const pinned = t.pinMemory();
    expect(pinned.isPinned()).toBe(true);
    await pinned.ready();
    expect(await pinned.to('openreg:1').toArray()).toEqual([1, 2, 3]);
    expectCode(() => ones([2], { device: 'openreg' }).pinMemory(), ErrorCode.NOT_SUPPORTED);
    const host = rt.hostAllocator.stats().allocatedBytes;
    pinned.dispose();
    expect(rt.hostAllocator.stats().allocatedBytes).toBeLessThan(host);
  });

  it('frees the storage of a tensor that is garbage-collected without dispose (the backstop)', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const before = allocated(1);
    (() => {
      for (let i = 0; i < 20; i++) ones([1024], { device: 'openreg:1' });
    })();
    expect(allocated(1)).toBeGreaterThan(before);
    for (let attempt = 0; attempt < 50 && allocated(1) > before; attempt++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(allocated(1)).toBeLessThanOrEqual(before);
  });

  it('a loop that drops its temporaries without dispose() runs on, far past its device memory (the backstop asks for collections)', () => {
    // Its own process, with no --expose-gc and no explicit collection: 2 GiB of dropped tensors through a 64 MiB device.
    const r = runScript(`
      const { rand } = openregModule;
      const rt = await Runtime.create({ deviceCount: 1, deviceMemoryBytes: 64 << 20 });
      const x = rand([256 * 1024], { device: 'openreg' });
      for (let i = 0; i < 1000; i++) {
        const y = x.mul(2).add(1);
        await y.data();
      }
      console.log(typeof globalThis.gc, rt.cachingAllocator.memoryStats(0).numOoms);
      await rt.close();`);
    expect({ stdout: r.stdout.trim(), status: r.status }, r.stderr).toEqual({ stdout: 'undefined 0', status: 0 });
  });
});

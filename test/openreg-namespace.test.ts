import { describe, expect, it } from 'vitest';
import * as o from '../dist/src/index.js';
import { openreg, type Runtime } from '../dist/src/index.js';
import { useTensorRuntime } from './helpers.js';

// torch.openreg's functions, each checked against the same call on the explicit Runtime
// that backs openreg devices here.
let rt: Runtime;
useTensorRuntime({ deviceCount: 2 }, (r) => (rt = r));

describe('the openreg namespace (torch.openreg / torch.cuda)', () => {
  it('isAvailable, isInitialized, deviceCount, currentDevice, setDevice and the device(i) scope', () => {
    expect([openreg.isAvailable(), openreg.isInitialized(), openreg.deviceCount()]).toEqual([true, true, rt.getDeviceCount()]);
    expect(openreg.currentDevice()).toBe(rt.getDevice());
    expect(openreg.device(1, () => [openreg.currentDevice(), rt.getDevice()])).toEqual([1, 1]);
    rt.withDevice(0, () => {
      openreg.setDevice(1);
      expect([openreg.currentDevice(), rt.getDevice(), o.tensor([1], { device: 'openreg' }).device.index]).toEqual([1, 1, 1]);
    });
    expect(openreg.init()).toBe(rt);
  });

  it('streams and events: Stream, Event, currentStream, defaultStream and the stream(s) scope', async () => {
    expect(openreg.defaultStream()).toBe(rt.defaultStream());
    expect(openreg.currentStream(1)).toBe(rt.getCurrentStream(1));
    const s = openreg.Stream();
    openreg.stream(s, () => {
      expect(openreg.currentStream()).toBe(s);
      expect(rt.getCurrentStream()).toBe(s);
    });
    const e = openreg.Event();
    rt.eventRecord(e, s);
    await rt.eventSynchronize(e);
    expect(rt.eventQuery(e)).toBe(true);
  });

  it('synchronize waits for a device, async and blocking', async () => {
    const x = o.ones([256, 256], { device: 'openreg:1' }).matmul(o.ones([256, 256], { device: 'openreg:1' }));
    await openreg.synchronize(1);
    expect(rt.streamQuery(rt.getCurrentStream(1))).toBe(true);
    x.add_(1);
    openreg.synchronizeSync(1);
    expect(rt.streamQuery(rt.getCurrentStream(1))).toBe(true);
  });

  it("memory statistics are the caching allocator's", () => {
    const before = openreg.memoryAllocated();
    const t = o.empty([1024], { device: 'openreg' });
    const stats = rt.cachingAllocator.memoryStats(rt.getDevice());
    expect(openreg.memoryAllocated()).toBe(stats.allocatedBytes.all.current);
    expect(openreg.memoryAllocated() - before).toBeGreaterThanOrEqual(4096);
    expect(openreg.maxMemoryAllocated()).toBe(stats.allocatedBytes.all.peak);
    expect(openreg.memoryReserved()).toBe(stats.reservedBytes.all.current);
    expect(openreg.maxMemoryReserved()).toBe(stats.reservedBytes.all.peak);
    expect(openreg.memoryStats()).toEqual(stats);
    t.dispose();
    openreg.resetPeakMemoryStats();
    expect(openreg.maxMemoryAllocated()).toBe(rt.cachingAllocator.memoryStats(rt.getDevice()).allocatedBytes.all.peak);
    openreg.emptyCache();
    expect(openreg.memoryReserved()).toBe(rt.cachingAllocator.memoryStats(rt.getDevice()).reservedBytes.all.current);
  });

  it('seeds and generator states: manualSeed, manualSeedAll, seed, initialSeed, getRngState, setRngState', async () => {
    openreg.manualSeed(7);
    expect(openreg.initialSeed()).toBe(rt.initialSeed());
    expect(openreg.initialSeed()).toBe(7n);
    const state = openreg.getRngState();
    const a = await o.rand([4], { device: 'openreg' }).toArray();
    openreg.setRngState(state);
    expect(await o.rand([4], { device: 'openreg' }).toArray()).toEqual(a);
    openreg.manualSeedAll(9);
    expect([rt.defaultGenerator(0).initialSeed(), rt.defaultGenerator(1).initialSeed()]).toEqual([9n, 9n]);
    const fresh = openreg.seed();
    expect(rt.initialSeed()).toBe(fresh);
  });

  it('amp.autocast runs openreg matmuls in float16 (PyTorch default), and reports itself enabled inside', () => {
    const a = o.ones([4, 4], { device: 'openreg' });
    const inside = openreg.amp.autocast(() => [a.matmul(a).dtype, openreg.amp.isAutocastEnabled()]);
    expect(inside).toEqual(['float16', true]);
    expect(openreg.amp.isAutocastEnabled()).toBe(false);
    expect(openreg.amp.autocast(() => a.matmul(a).dtype, { dtype: 'bfloat16' })).toBe('bfloat16');
  });
});

describe('the accelerator namespace (torch.accelerator)', () => {
  it('answers with openreg, checked against the explicit Runtime', async () => {
    const { accelerator } = o;
    expect([accelerator.isAvailable(), accelerator.currentAccelerator()?.toString(), accelerator.deviceCount()]).toEqual([true, 'openreg', rt.getDeviceCount()]);
    rt.withDevice(0, () => {
      accelerator.setDeviceIndex(1);
      expect([accelerator.currentDeviceIndex(), rt.getDevice()]).toEqual([1, 1]);
      expect(accelerator.currentStream()).toBe(rt.getCurrentStream(1));
    });
    await accelerator.synchronize(1);
    expect(rt.streamQuery(rt.getCurrentStream(1))).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { DeviceGuard, ErrorCode, type KernelModule, OptionalDeviceGuard, type Runtime, type Stream, StreamGuard } from '../dist/src/index.js';
import { expectCode, gate, readLog, useRuntime } from './helpers.js';

describe('device and stream guards, current streams', () => {
  let rt: Runtime;
  let mod: KernelModule;
  useRuntime({ deviceCount: 3 }, (r, kernels) => {
    rt = r;
    mod = kernels;
  });

  it('a DeviceGuard restores the device at the end of its block, even on throw', () => {
    {
      using guard = rt.deviceGuard(2);
      expect(guard).toBeInstanceOf(DeviceGuard);
      expect(rt.getDevice()).toBe(2);
      expect(guard.originalDevice).toBe(0);
    }
    expect(rt.getDevice()).toBe(0);
    expect(() => {
      using _guard = rt.deviceGuard(1);
      throw new Error('inside');
    }).toThrow('inside');
    expect(rt.getDevice()).toBe(0);
    expectCode(() => rt.deviceGuard(3), ErrorCode.INVALID_DEVICE);
    expect(rt.getDevice()).toBe(0);
  });

  it('nested guards restore each level', () => {
    {
      using _outer = rt.deviceGuard(1);
      {
        using inner = rt.deviceGuard(2);
        inner.setDevice(0);
        expect(rt.getDevice()).toBe(0);
      }
      expect(rt.getDevice()).toBe(1);
    }
    expect(rt.getDevice()).toBe(0);
  });

  it('an OptionalDeviceGuard without a device does nothing until set', () => {
    {
      using guard = rt.optionalDeviceGuard(undefined);
      expect(guard).toBeInstanceOf(OptionalDeviceGuard);
      expect(guard.originalDevice).toBeUndefined();
      expect(guard.currentDevice).toBeUndefined();
      guard.setDevice(2);
      guard.setDevice(1);
      expect(guard.originalDevice).toBe(0);
      expect(rt.getDevice()).toBe(1);
    }
    expect(rt.getDevice()).toBe(0);
    {
      using _guard = rt.optionalDeviceGuard(null);
      rt.setDevice(2); // not the guard's doing: it restores nothing
    }
    expect(rt.getDevice()).toBe(2);
    rt.setDevice(0);
  });

  it('a StreamGuard sets the stream and its device, and restores both', () => {
    const s = rt.withDevice(1, () => rt.streamCreate());
    {
      using guard = rt.streamGuard(s);
      expect(guard).toBeInstanceOf(StreamGuard);
      expect(rt.getDevice()).toBe(1);
      expect(rt.getCurrentStream()).toBe(s);
      expect(rt.getCurrentStream(0)).toBe(rt.defaultStream(0));
    }
    expect(rt.getDevice()).toBe(0);
    expect(rt.getCurrentStream(1)).toBe(rt.defaultStream(1));
    expectCode(() => rt.streamGuard({} as never), ErrorCode.INVALID_HANDLE);
  });

  it('calls without a stream use the current stream', async () => {
    const s = rt.streamCreate();
    const log = rt.malloc(64 * 4);
    await rt.memset(log, 0, 256);
    const g = gate(rt, s);
    const e = rt.eventCreate();
    await rt.withStream(s, async () => {
      expect(rt.getCurrentStream()).toBe(s);
      rt.launchKernel(mod.getFunction('append'), [log, 64, 1]);
      rt.memsetAsync(log + 128, 1, 4);
      rt.launchHostFunc(undefined, () => undefined);
      rt.eventRecord(e);
      expect(rt.streamQuery(s)).toBe(false); // all of it waits behind the gate on s
      expect(rt.eventQuery(e)).toBe(false);
    });
    expect(rt.getCurrentStream()).toBe(rt.defaultStream());
    g.open();
    await e.synchronize();
    expect(await readLog(rt, log, 64)).toEqual([1]);
    rt.free(log);
  });

  it('concurrent withStream scopes each see their own stream and device', async () => {
    const streams = [0, 1, 2].flatMap((d) => [0, 1].map(() => rt.withDevice(d, () => rt.streamCreate())));
    const seen = await Promise.all(
      streams.map((s) =>
        rt.withStream(s, async () => {
          await new Promise((r) => setTimeout(r, s.id % 3));
          return [rt.getDevice(), rt.getCurrentStream()] as const;
        }),
      ),
    );
    seen.forEach(([device, current], i) => {
      expect(device).toBe(streams[i]!.device);
      expect(current).toBe(streams[i]);
    });
  });

  it('a current stream invalidated by deviceReset gives way to the default stream', async () => {
    await rt.withDevice(2, async () => {
      const s = rt.streamCreate();
      rt.setCurrentStream(s);
      await rt.deviceReset(2);
      expect(rt.getCurrentStream()).toBe(rt.defaultStream(2));
      rt.launchKernel(mod.getFunction('empty'), []); // on the default stream, not an error
      await rt.deviceSynchronize();
      expectCode(() => rt.streamQuery(s), ErrorCode.INVALID_HANDLE);
    });
  });

  it('setCurrentStream changes the current stream of the stream device only', () => {
    const s1 = rt.withDevice(1, () => rt.streamCreate());
    rt.setCurrentStream(s1);
    expect(rt.getDevice()).toBe(0);
    expect(rt.getCurrentStream(1)).toBe(s1);
    rt.streamDestroy(s1); // destroying the current stream falls back to the default
    expect(rt.getCurrentStream(1)).toBe(rt.defaultStream(1));
    expectCode(() => rt.setCurrentStream('s' as never), ErrorCode.INVALID_HANDLE);
    expectCode(() => rt.withStream(rt.defaultStream(), 5 as never), ErrorCode.INVALID_VALUE);
    expectCode(() => rt.getCurrentStream(7), ErrorCode.INVALID_DEVICE);
    expectCode(() => rt.optionalDeviceGuard(7), ErrorCode.INVALID_DEVICE);
    expectCode(() => rt.streamWaitStream(rt.defaultStream(), {} as never), ErrorCode.INVALID_HANDLE);
    expectCode(() => rt.streamWaitStream('s' as never, rt.defaultStream()), ErrorCode.INVALID_HANDLE);
    expect(rt.getDevice()).toBe(0);
  });
});

describe('stream pools, stream and event objects', () => {
  let rt: Runtime;
  let mod: KernelModule;
  useRuntime({}, (r, kernels) => {
    rt = r;
    mod = kernels;
  });

  it('hands out 32 pooled streams per priority, round-robin', () => {
    const first = Array.from({ length: 32 }, () => rt.getStreamFromPool());
    expect(new Set(first).size).toBe(32);
    expect(rt.getStreamFromPool()).toBe(first[0]); // wraps around: equal objects
    for (const s of first) {
      expect(s.priority).toBe(0);
      expect(s.nonBlocking).toBe(true);
      expect(s.device).toBe(0);
    }
    const high = rt.getStreamFromPool({ highPriority: true });
    expect(high.priority).toBe(-5);
    expect(first).not.toContain(high);
    const onOne = rt.getStreamFromPool({ device: 1 });
    expect(onOne.device).toBe(1);
    expectCode(() => rt.streamDestroy(first[3]!), ErrorCode.INVALID_HANDLE);
    expectCode(() => rt.getStreamFromPool({ device: 2 }), ErrorCode.INVALID_DEVICE);
    expectCode(() => rt.getStreamFromPool({ highPriority: 'yes' as never }), ErrorCode.INVALID_VALUE);
  });

  it('pooled and user streams are interchangeable', async () => {
    const pooled = rt.getStreamFromPool();
    const mine = rt.streamCreate();
    const out = rt.malloc(4);
    rt.launchKernel(mod.getFunction('fill'), [out, 1, 5], pooled);
    mine.waitStream(pooled);
    const e = mine.recordEvent();
    await e.synchronize();
    expect(pooled.query()).toBe(true);
    const v = new Float32Array(1);
    rt.memcpyAsync(v, out, 4, 'deviceToHost', mine);
    expect(v[0]).toBe(5);
    rt.free(out);
  });

  it('stream methods: synchronize, query, waitEvent, waitStream, recordEvent', async () => {
    const a = rt.streamCreate();
    const b = rt.streamCreate({ nonBlocking: true });
    const g = gate(rt, a);
    b.waitStream(a);
    const onB = b.recordEvent();
    expect(b.query()).toBe(false);
    expect(onB.query()).toBe(false);
    g.open();
    await a.synchronize();
    b.synchronizeSync();
    expect(onB.query()).toBe(true);
    const e = rt.eventCreate();
    e.record(a);
    b.waitEvent(e);
    await b.synchronize();
    a.destroy();
    expectCode(() => a.query(), ErrorCode.INVALID_HANDLE);
  });

  it('lazy events bind to the device of the stream that first records them', async () => {
    const e = rt.lazyEvent();
    expect(e.device).toBe(-1);
    expect(e.id).toBe(-1);
    expect(e.query()).toBe(true);
    await e.synchronize();
    const s1 = rt.withDevice(1, () => rt.streamCreate());
    e.record(s1);
    expect(e.device).toBe(1);
    expect(e.id).toBeGreaterThanOrEqual(0);
    await e.synchronize();
    const s0 = rt.streamCreate();
    expectCode(() => e.record(s0), ErrorCode.INVALID_HANDLE); // now bound to device 1
    const other = rt.lazyEvent();
    other.record(s1);
    expect(other.id).not.toBe(e.id);
    await other.synchronize();
    expect(e.elapsedTime(other)).toBeGreaterThanOrEqual(0);
    const never = rt.lazyEvent();
    expectCode(() => never.elapsedTime(e), ErrorCode.INVALID_HANDLE);
    never.wait(s0); // a never-recorded event: no-op
    e.wait(s0); // cross-device wait on the current record
    await s0.synchronize();
    e.destroy();
    never.destroy();
    expectCode(() => e.query(), ErrorCode.INVALID_HANDLE);
    expectCode(() => rt.lazyEvent({ disableTiming: 1 as never }), ErrorCode.INVALID_VALUE);
  });

  it('a pool that cannot be completed takes no streams', () => {
    const mine: Stream[] = [];
    const create = () => rt.withDevice(1, () => rt.streamCreate());
    for (;;) {
      try {
        mine.push(create());
      } catch (error) {
        expect(error).toMatchObject({ code: ErrorCode.OUT_OF_MEMORY });
        break; // device 1 has no free stream left
      }
    }
    for (const s of mine.splice(0, 10)) s.destroy(); // 10 free: too few for a pool of 32
    expectCode(() => rt.getStreamFromPool({ device: 1, highPriority: true }), ErrorCode.OUT_OF_MEMORY);
    const again = Array.from({ length: 10 }, create); // the failed pool gave all 10 back
    for (const s of [...again, ...mine]) s.destroy();
    expect(rt.getStreamFromPool({ device: 1, highPriority: true }).priority).toBe(-5);
  });

  it('a reset rebuilds the pool: old pooled streams are invalid', async () => {
    const before = rt.getStreamFromPool({ device: 1 });
    await rt.deviceReset(1);
    expectCode(() => before.query(), ErrorCode.INVALID_HANDLE);
    const after = rt.getStreamFromPool({ device: 1 });
    expect(after).not.toBe(before);
    await after.synchronize();
  });
});

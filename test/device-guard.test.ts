import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, type Runtime } from '../dist/src/index.js';
import { createRuntime, expectCode } from './helpers.js';

describe('current device and the device guard', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await createRuntime({ deviceCount: 3 });
  });
  afterAll(async () => {
    await rt.close();
  });

  it('counts devices and starts on device 0', () => {
    expect(rt.getDeviceCount()).toBe(3);
    expect(rt.getDevice()).toBe(0);
  });

  it('setDevice rejects a bad index and changes nothing', () => {
    rt.setDevice(1);
    for (const bad of [-1, 3, 1.5, NaN, '1', undefined, null]) {
      const error = expectCode(() => rt.setDevice(bad as number), ErrorCode.INVALID_DEVICE);
      expect(error.message).toMatch(/^setDevice: device must be an integer in \[0, 3\)/);
    }
    expect(rt.getDevice()).toBe(1);
    rt.setDevice(0);
  });

  it('exchangeDevice returns the previous device', () => {
    expect(rt.exchangeDevice(2)).toBe(0);
    expect(rt.exchangeDevice(0)).toBe(2);
    expectCode(() => rt.exchangeDevice(7), ErrorCode.INVALID_DEVICE);
    expect(rt.getDevice()).toBe(0);
  });

  it('withDevice restores the device when fn returns or throws', async () => {
    expect(rt.withDevice(2, () => rt.getDevice())).toBe(2);
    expect(rt.getDevice()).toBe(0);
    expect(() =>
      rt.withDevice(1, () => {
        throw new Error('inside');
      }),
    ).toThrow('inside');
    expect(rt.getDevice()).toBe(0);
    await expect(
      rt.withDevice(1, async () => {
        await new Promise((r) => setTimeout(r, 1));
        throw new Error('async inside');
      }),
    ).rejects.toThrow('async inside');
    expect(rt.getDevice()).toBe(0);
  });

  it('nested guards restore each level', () => {
    rt.withDevice(1, () => {
      rt.withDevice(2, () => expect(rt.getDevice()).toBe(2));
      expect(rt.getDevice()).toBe(1);
    });
    expect(rt.getDevice()).toBe(0);
  });

  it('setDevice inside a scope does not leak out of it', async () => {
    await rt.withDevice(1, async () => {
      rt.setDevice(2);
      await new Promise((r) => setImmediate(r));
      expect(rt.getDevice()).toBe(2);
    });
    expect(rt.getDevice()).toBe(0);
  });

  it('concurrent scopes under Promise.all never see each other across awaits', async () => {
    const seen = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        rt.withDevice(i % 3, async () => {
          const observed: number[] = [];
          for (let k = 0; k < 5; k++) {
            await new Promise((r) => setTimeout(r, (i * 7 + k) % 3));
            observed.push(rt.getDevice());
            if (k === 2) rt.setDevice(i % 3); // re-setting in a scope stays local
          }
          return observed;
        }),
      ),
    );
    seen.forEach((observed, i) => expect(observed).toEqual(Array(5).fill(i % 3)));
    expect(rt.getDevice()).toBe(0);
  });

  it('withDevice validates its arguments', () => {
    expectCode(() => rt.withDevice(5, () => 0), ErrorCode.INVALID_DEVICE);
    expectCode(() => rt.withDevice(0, 'not a function' as never), ErrorCode.INVALID_VALUE);
  });

  it('reports the CUDA stream priority range', () => {
    expect(rt.deviceGetStreamPriorityRange()).toEqual({ least: 0, greatest: -5 });
  });

  it('memGetInfo reports the current device', () => {
    const before = rt.withDevice(1, () => rt.memGetInfo());
    expect(before.total).toBe(8 << 20);
    const p = rt.withDevice(1, () => rt.malloc(1 << 20));
    expect(rt.withDevice(1, () => rt.memGetInfo().free)).toBe(before.free - (1 << 20));
    expect(rt.memGetInfo().free).toBe(rt.memGetInfo().total);
    rt.free(p);
  });

  it('deviceStats reports counters and validates the device', async () => {
    const stats = await rt.deviceStats(2);
    expect(stats).toMatchObject({ device: 2, allocations: 0, allocatedBytes: 0 });
    await expect(rt.deviceStats(3)).rejects.toMatchObject({ code: ErrorCode.INVALID_DEVICE });
    await expect(rt.deviceStats('0' as never)).rejects.toMatchObject({ code: ErrorCode.INVALID_DEVICE });
  });

  it('deviceSynchronize waits for all streams of the current device', async () => {
    await rt.deviceSynchronize();
    rt.deviceSynchronizeSync();
  });
});

describe('runtime lifecycle', () => {
  it('rejects invalid options with ERR_INVALID_VALUE', async () => {
    for (const options of [{ deviceCount: 0 }, { deviceCount: 2.5 }, { deviceCount: 31 }, { deviceMemoryBytes: -1 }, { hostMemoryBytes: 'big' }, { unknown: 1 }, 5]) {
      const { Runtime } = await import('../dist/src/index.js');
      await expect(Runtime.create(options as never)).rejects.toMatchObject({ code: ErrorCode.INVALID_VALUE });
    }
  });

  it('close is idempotent and later calls fail with ERR_RUNTIME_CLOSED', async () => {
    const rt = await createRuntime();
    const p = rt.malloc(256);
    await rt.close();
    await rt.close();
    expect(rt.closed).toBe(true);
    expectCode(() => rt.getDevice(), ErrorCode.RUNTIME_CLOSED);
    expectCode(() => rt.malloc(16), ErrorCode.RUNTIME_CLOSED);
    expectCode(() => rt.free(p), ErrorCode.RUNTIME_CLOSED);
    expectCode(() => rt.streamCreate(), ErrorCode.RUNTIME_CLOSED);
    await expect(rt.deviceSynchronize()).rejects.toMatchObject({ code: ErrorCode.RUNTIME_CLOSED });
    await expect(rt.loadModule('/x.mjs')).rejects.toMatchObject({ code: ErrorCode.RUNTIME_CLOSED });
  });

  it('close waits for enqueued work', async () => {
    const rt = await createRuntime({ deviceCount: 1 });
    const mod = await rt.loadModule(new URL('./fixtures/kernels.mjs', import.meta.url));
    const s = rt.streamCreate();
    let ran = false;
    rt.launchKernel(mod.getFunction('spin'), [20], s);
    rt.launchHostFunc(s, () => {
      ran = true;
    });
    await rt.close();
    expect(ran).toBe(true);
  });

  it('supports await using', async () => {
    let escaped: Runtime | undefined;
    {
      await using rt = await createRuntime({ deviceCount: 1 });
      escaped = rt;
      expect(rt.getDeviceCount()).toBe(1);
    }
    expect(escaped.closed).toBe(true);
  });
});

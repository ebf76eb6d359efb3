import { describe, expect, it } from 'vitest';
import { ErrorCode, type KernelModule, type Runtime } from '../dist/src/index.js';
import { expectCode, expectRejectCode, useRuntime } from './helpers.js';

describe('a device whose worker dies', () => {
  let rt: Runtime;
  let mod: KernelModule;
  useRuntime({}, (r, kernels) => {
    rt = r;
    mod = kernels;
  });

  it('is marked ERR_DEVICE_LOST, synchronously visible to blocking waits', () => {
    const s = rt.streamCreate();
    rt.launchKernel(mod.getFunction('exitWorker'), [], s);
    const error = expectCode(() => rt.streamSynchronizeSync(s), ErrorCode.DEVICE_LOST);
    expect(error.message).toMatch(/worker exited with code 3/);
    expectCode(() => rt.malloc(16), ErrorCode.DEVICE_LOST);
  });

  it('does not take down the other devices or the host', async () => {
    await rt.withDevice(1, async () => {
      const p = rt.malloc(64);
      rt.launchKernel(mod.getFunction('fill'), [p, 16, 4]);
      const out = new Float32Array(16);
      await rt.memcpy(out, p, 64);
      expect(out.every((v) => v === 4)).toBe(true);
      rt.free(p);
    });
    await expectRejectCode(rt.deviceStats(0), ErrorCode.DEVICE_LOST);
  });

  it('comes back after deviceReset, with its modules reloaded', async () => {
    // A module that failed to load is not among those reloaded.
    await expect(rt.loadModule(new URL('./fixtures/missing.mjs', import.meta.url))).rejects.toMatchObject({ code: ErrorCode.INVALID_VALUE });
    await rt.deviceReset(0);
    const p = rt.malloc(64);
    rt.launchKernel(mod.getFunction('fill'), [p, 16, 6]);
    const out = new Float32Array(16);
    await rt.memcpy(out, p, 64);
    expect(out.every((v) => v === 6)).toBe(true);
    expect((await rt.deviceStats(0)).kernels).toBe(1);
    rt.free(p);
  });

  it('surfaces a pending async wait as ERR_DEVICE_LOST', async () => {
    const s = rt.streamCreate();
    rt.launchKernel(mod.getFunction('spin'), [5], s);
    rt.launchKernel(mod.getFunction('exitWorker'), [], s);
    await expectRejectCode(rt.streamSynchronize(s), ErrorCode.DEVICE_LOST);
    await rt.deviceReset(0);
    await rt.deviceSynchronize();
  });
});

import { describe, expect, it } from 'vitest';
import { ErrorCode, type KernelModule, type Runtime } from '../dist/src/index.js';
import { expectCode, expectRejectCode, useRuntime } from './helpers.js';

// rt.faults.inject: the nth kernel, copy, memset or allocation of a device fails with the
// chosen error, deterministically, and the rest of the program sees it as a real failure.
let rt: Runtime;
let k: KernelModule;
useRuntime({ deviceCount: 2 }, (r, m) => {
  rt = r;
  k = m;
});

describe('fault injection', () => {
  it('fails the nth kernel launch with a sticky launch failure; a reset recovers the device', async () => {
    const p = rt.withDevice(1, () => rt.malloc(64));
    rt.faults.inject({ device: 1, at: 'kernel', nth: 2, error: 'ERR_LAUNCH_FAILURE' });
    const s = rt.withDevice(1, () => rt.streamCreate());
    rt.launchKernel(k.getFunction('fill'), [p, 16, 1], s); // the first: runs
    await rt.streamSynchronize(s);
    rt.launchKernel(k.getFunction('fill'), [p, 16, 2], s); // the second: fails on the device
    const error = await expectRejectCode(rt.streamSynchronize(s), ErrorCode.LAUNCH_FAILURE);
    expect(error.message).toMatch(/injected fault/);
    expect(await rt.withDevice(0, async () => rt.malloc(16))).toBeGreaterThan(0); // device 0 is untouched
    await rt.deviceReset(1);
    expect(rt.faults.pending).toBe(0);
  });

  it('fails a copy with an illegal address, and a memset by losing the device', async () => {
    const src = rt.malloc(64);
    const out = new Uint8Array(64);
    rt.faults.inject({ at: 'copy', error: 'ERR_ILLEGAL_ADDRESS' });
    await expectRejectCode(rt.memcpy(out, src, 64), ErrorCode.ILLEGAL_ADDRESS);
    await rt.deviceReset(0);
    const p = rt.malloc(64);
    rt.faults.inject({ at: 'memset', error: 'ERR_DEVICE_LOST' });
    await expectRejectCode(rt.memset(p, 0, 64), ErrorCode.DEVICE_LOST);
    await rt.deviceReset(0);
    expect(rt.malloc(16)).toBeGreaterThan(0);
  });

  it('fails the nth allocation with out of memory at the call, and only that one', () => {
    rt.faults.inject({ device: 0, at: 'malloc', nth: 2, error: 'ERR_OUT_OF_MEMORY' });
    const first = rt.malloc(32);
    expect(expectCode(() => rt.malloc(32), ErrorCode.OUT_OF_MEMORY).message).toBe('malloc: cannot allocate 32 bytes on device 0: an injected fault (rt.faults.inject)');
    const third = rt.malloc(32);
    rt.free(first);
    rt.free(third);
  });

  it('a disposer disarms a fault that has not fired', async () => {
    const disarm = rt.faults.inject({ at: 'kernel', error: 'ERR_LAUNCH_FAILURE' });
    expect(rt.faults.pending).toBe(1);
    disarm();
    rt.launchKernel(k.getFunction('empty'), []);
    await rt.deviceSynchronize();
    expect(rt.faults.pending).toBe(0);
  });

  it('rejects faults a site cannot have and bad options', () => {
    expectCode(() => rt.faults.inject({ at: 'malloc', error: 'ERR_LAUNCH_FAILURE' }), ErrorCode.INVALID_VALUE);
    expectCode(() => rt.faults.inject({ at: 'kernel', error: 'ERR_OUT_OF_MEMORY' }), ErrorCode.INVALID_VALUE);
    expectCode(() => rt.faults.inject({ at: 'disk' as never, error: 'ERR_LAUNCH_FAILURE' }), ErrorCode.INVALID_VALUE);
    expectCode(() => rt.faults.inject({ at: 'kernel', nth: 0, error: 'ERR_LAUNCH_FAILURE' }), ErrorCode.INVALID_VALUE);
    expectCode(() => rt.faults.inject({ device: 7, at: 'kernel', error: 'ERR_LAUNCH_FAILURE' }), ErrorCode.INVALID_DEVICE);
    expect(rt.faults.pending).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { ErrorCode, type KernelModule, type Runtime } from '../dist/src/index.js';
import { expectCode, expectRejectCode, gate, useRuntime } from './helpers.js';

describe('asynchronous, sticky device errors', () => {
  let rt: Runtime;
  let mod: KernelModule;
  useRuntime({}, (r, kernels) => {
    rt = r;
    mod = kernels;
  });

  it('a kernel that throws: launch returns, the next synchronization fails, the error sticks until reset', async () => {
    const s = rt.streamCreate();
    const p = rt.malloc(64);
    const e = rt.eventCreate();
    rt.launchKernel(mod.getFunction('boom'), [], s); // returns normally
    const error = await expectRejectCode(rt.streamSynchronize(s), ErrorCode.LAUNCH_FAILURE);
    expect(error.message).toMatch(/^streamSynchronize: device 0 has a sticky error: kernel boom .*threw Error: kernel exploded/);
    expect(error.device).toBe(0);
    // Every later call that touches device 0 fails the same way.
    expectCode(() => rt.malloc(16), ErrorCode.LAUNCH_FAILURE);
    expectCode(() => rt.launchKernel(mod.getFunction('empty'), [], s), ErrorCode.LAUNCH_FAILURE);
    expectCode(() => rt.streamQuery(s), ErrorCode.LAUNCH_FAILURE);
    expectCode(() => rt.deviceSynchronizeSync(), ErrorCode.LAUNCH_FAILURE);
    expectCode(() => rt.memcpySync(new Uint8Array(4), p, 4), ErrorCode.LAUNCH_FAILURE);
    expectCode(() => rt.eventRecord(e, s), ErrorCode.LAUNCH_FAILURE);
    await expectRejectCode(rt.deviceSynchronize(), ErrorCode.LAUNCH_FAILURE);
    // Device 1 keeps working.
    await rt.withDevice(1, async () => {
      const q = rt.malloc(16);
      rt.launchKernel(mod.getFunction('empty'), []);
      await rt.deviceSynchronize();
      rt.free(q);
    });
    // Reset clears it: streams and events are invalidated, memory is freed.
    await rt.deviceReset(0);
    expect(rt.memGetInfo().free).toBe(rt.memGetInfo().total);
    expectCode(() => rt.streamQuery(s), ErrorCode.INVALID_HANDLE);
    expect(expectCode(() => rt.eventQuery(e), ErrorCode.INVALID_HANDLE).message).toMatch(/invalidated by deviceReset\(0\)/);
    expect(expectCode(() => rt.streamQuery(s), ErrorCode.INVALID_HANDLE).message).toMatch(/invalidated by deviceReset\(0\)/);
    expectCode(() => rt.memcpySync(new Uint8Array(4), p, 4), ErrorCode.INVALID_VALUE);
    const fresh = rt.malloc(16);
    rt.launchKernel(mod.getFunction('empty'), []);
    await rt.deviceSynchronize();
    rt.free(fresh);
  });

  it('a view outside the kernel allocations raises ERR_ILLEGAL_ADDRESS', async () => {
    const p = rt.malloc(100);
    rt.launchKernel(mod.getFunction('overrun'), [p, 100]);
    const error = expectCode(() => rt.deviceSynchronizeSync(), ErrorCode.ILLEGAL_ADDRESS);
    expect(error.message).toMatch(/ctx\.u8\(.*101\): 101 bytes are not inside one live allocation of device 0/);
    await rt.deviceReset(0);
  });

  it('views of freed memory, of another device or misaligned are illegal addresses', async () => {
    const on1 = rt.withDevice(1, () => rt.malloc(64));
    rt.launchKernel(mod.getFunction('fill'), [on1, 1, 1]); // device 0 kernel, device 1 pointer
    expectCode(() => rt.deviceSynchronizeSync(), ErrorCode.ILLEGAL_ADDRESS);
    await rt.deviceReset(0);
    const p = rt.malloc(64);
    rt.launchKernel(mod.getFunction('fill'), [p + 2, 1, 1]);
    expect(expectCode(() => rt.deviceSynchronizeSync(), ErrorCode.ILLEGAL_ADDRESS).message).toMatch(/aligned/);
    await rt.deviceReset(0);
    rt.free(on1);
  });

  it('the first sticky error wins and later work is discarded', async () => {
    const log = rt.malloc(16 * 4);
    await rt.memset(log, 0, 64);
    const kernelsBefore = (await rt.deviceStats(0)).kernels;
    const s = rt.streamCreate();
    const g = gate(rt, s); // all three launches are enqueued before any runs
    rt.launchKernel(mod.getFunction('boom'), [], s);
    rt.launchKernel(mod.getFunction('append'), [log, 16, 1], s);
    rt.launchKernel(mod.getFunction('overrun'), [log, 64], s);
    g.open();
    const error = await expectRejectCode(rt.streamSynchronize(s), ErrorCode.LAUNCH_FAILURE);
    expect(error.message).toMatch(/boom/);
    // Only boom ran: the kernels after it were discarded. Stats stay readable on a failed device.
    expect((await rt.deviceStats(0)).kernels).toBe(kernelsBefore + 1);
    await rt.deviceReset(0);
  });

  it('a kernel that returns a promise is a launch failure', async () => {
    rt.launchKernel(mod.getFunction('asyncKernel'), []);
    const error = await expectRejectCode(rt.deviceSynchronize(), ErrorCode.LAUNCH_FAILURE);
    expect(error.message).toMatch(/must be synchronous/);
    await rt.deviceReset(0);
  });

  it('waits on a failed device from another device end instead of hanging', async () => {
    const s0 = rt.streamCreate();
    const e0 = rt.eventCreate();
    const g = gate(rt, s0);
    rt.launchKernel(mod.getFunction('boom'), [], s0);
    rt.eventRecord(e0, s0);
    const s1 = rt.withDevice(1, () => rt.streamCreate());
    rt.streamWaitEvent(s1, e0);
    g.open();
    await rt.streamSynchronize(s1); // device 1 is not failed: its wait completes
    await expectRejectCode(rt.streamSynchronize(s0), ErrorCode.LAUNCH_FAILURE);
    await rt.deviceReset(0);
  });

  it('a wait on work of a device that has failed is that device\'s error, at the call', async () => {
    const s0 = rt.streamCreate();
    const e0 = rt.eventCreate();
    const g = gate(rt, s0); // the record is enqueued before the kernel fails
    rt.launchKernel(mod.getFunction('boom'), [], s0);
    rt.eventRecord(e0, s0);
    g.open();
    await expectRejectCode(rt.streamSynchronize(s0), ErrorCode.LAUNCH_FAILURE);
    const s1 = rt.withDevice(1, () => rt.streamCreate());
    expect(expectCode(() => rt.streamWaitEvent(s1, e0), ErrorCode.LAUNCH_FAILURE).message).toMatch(/^streamWaitEvent: device 0 has a sticky error/);
    expectCode(() => rt.streamWaitStream(s1, s0), ErrorCode.LAUNCH_FAILURE);
    await rt.streamSynchronize(s1); // device 1 itself is fine
    await rt.deviceReset(0);
  });

  it('a kernel launched after free(p) cannot use p, even while its reuse is deferred', async () => {
    const p = rt.malloc(64);
    const held = rt.streamCreate();
    const g = gate(rt, held); // pending work on the device: p's release is deferred
    rt.free(p);
    expect(rt.pointerGetAttributes(p).type).toBe('unregistered');
    const late = rt.streamCreate({ nonBlocking: true });
    rt.launchKernel(mod.getFunction('fill'), [p, 16, 1], late);
    const error = await expectRejectCode(rt.streamSynchronize(late), ErrorCode.ILLEGAL_ADDRESS);
    expect(error.message).toMatch(/ctx\.f32\(.*16\): the allocation was freed before this kernel was launched \(use after free\)/);
    g.open();
    await rt.deviceReset(0);
  });

  it('a kernel cannot change the context the next kernel gets', async () => {
    rt.launchKernel(mod.getFunction('mutateContext'), []);
    await expectRejectCode(rt.deviceSynchronize(), ErrorCode.LAUNCH_FAILURE);
    await rt.deviceReset(0);
    const fresh = rt.malloc(4);
    rt.launchKernel(mod.getFunction('whoami'), [fresh]);
    const device = new Int32Array(1);
    await rt.memcpy(device, fresh, 4);
    expect(device[0]).toBe(0);
    rt.free(fresh);
  });

  it('deviceReset validates its argument', async () => {
    await expect(rt.deviceReset(9)).rejects.toMatchObject({ code: ErrorCode.INVALID_DEVICE });
  });
});

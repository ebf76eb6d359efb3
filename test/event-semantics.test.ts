import { describe, expect, it } from 'vitest';
import { ErrorCode, type KernelModule, type Runtime } from '../dist/src/index.js';
import { expectCode, expectRejectCode, gate, useRuntime } from './helpers.js';

describe('events', () => {
  let rt: Runtime;
  let mod: KernelModule;
  useRuntime({}, (r, kernels) => {
    rt = r;
    mod = kernels;
  });

  const readF32 = async (ptr: number) => {
    const out = new Float32Array(1);
    await rt.memcpy(out, ptr, 4);
    return out[0];
  };

  it('a never-recorded event is complete', async () => {
    const e = rt.eventCreate();
    expect(rt.eventQuery(e)).toBe(true);
    await rt.eventSynchronize(e);
    rt.eventSynchronizeSync(e);
    const s = rt.streamCreate();
    rt.streamWaitEvent(s, e); // no-op
    await rt.streamSynchronize(s);
  });

  it('record captures the work enqueued so far; query and synchronize follow it', async () => {
    const s = rt.streamCreate();
    const e = rt.eventCreate();
    const g = gate(rt, s);
    rt.eventRecord(e, s);
    expect(rt.eventQuery(e)).toBe(false);
    g.open();
    await rt.eventSynchronize(e);
    expect(rt.eventQuery(e)).toBe(true);
    rt.eventRecord(e, s);
    rt.eventSynchronizeSync(e);
    expect(rt.eventQuery(e)).toBe(true);
  });

  it('streamWaitEvent waits for the record current at the call (a later re-record does not matter)', async () => {
    const x = rt.malloc(4);
    const y = rt.malloc(4);
    await rt.memset(x, 0, 4);
    await rt.memset(y, 0, 4);
    const producer = rt.streamCreate({ nonBlocking: true });
    const consumer = rt.streamCreate({ nonBlocking: true });
    const other = rt.streamCreate({ nonBlocking: true });
    const e = rt.eventCreate();
    const g = gate(rt, producer);
    rt.launchKernel(mod.getFunction('fill'), [x, 1, 1], producer);
    rt.eventRecord(e, producer);
    rt.streamWaitEvent(consumer, e);
    rt.eventRecord(e, other); // completes at once; the enqueued wait must ignore it
    await rt.eventSynchronize(e);
    rt.memcpyAsync(y, x, 4, 'deviceToDevice', consumer);
    expect(rt.streamQuery(consumer)).toBe(false);
    g.open();
    await rt.streamSynchronize(consumer);
    expect(await readF32(y)).toBe(1);
  });

  it('a stream can wait for an event of another device', async () => {
    const s1 = rt.withDevice(1, () => rt.streamCreate());
    const on1 = rt.withDevice(1, () => rt.malloc(4));
    const on0 = rt.malloc(4);
    await rt.memset(on0, 0, 4);
    const e1 = rt.withDevice(1, () => rt.eventCreate());
    const g = gate(rt, s1);
    rt.launchKernel(mod.getFunction('fill'), [on1, 1, 7], s1);
    rt.eventRecord(e1, s1);
    const s0 = rt.streamCreate();
    rt.streamWaitEvent(s0, e1);
    rt.memcpyAsync(on0, on1, 4, 'deviceToDevice', s0); // pulls from device 1 once e1 completes
    g.open();
    await rt.streamSynchronize(s0);
    expect(await readF32(on0)).toBe(7);
    rt.free(on0);
    rt.free(on1);
  });

  it('record requires the stream to be on the event device', () => {
    const e = rt.eventCreate();
    const s1 = rt.withDevice(1, () => rt.streamCreate());
    const error = expectCode(() => rt.eventRecord(e, s1), ErrorCode.INVALID_HANDLE);
    expect(error.message).toMatch(/^eventRecord: .*device 0.*device 1/);
    expect(rt.withDevice(1, () => expectCode(() => rt.eventRecord(e), ErrorCode.INVALID_HANDLE))).toBeTruthy();
  });

  it('elapsed time is measured between completions on the shared clock', async () => {
    const s = rt.streamCreate();
    const start = rt.eventCreate();
    const end = rt.eventCreate();
    rt.eventRecord(start, s);
    rt.launchKernel(mod.getFunction('spin'), [2], s);
    rt.eventRecord(end, s);
    await rt.eventSynchronize(end);
    const ms = rt.eventElapsedTime(start, end);
    expect(ms).toBeGreaterThan(0);
    expect(rt.eventElapsedTime(start, start)).toBe(0);
  });

  it('elapsed time errors: never recorded, timing disabled, not ready, different devices', async () => {
    const s = rt.streamCreate();
    const a = rt.eventCreate();
    const b = rt.eventCreate();
    expectCode(() => rt.eventElapsedTime(a, b), ErrorCode.INVALID_HANDLE);
    const untimed = rt.eventCreate({ disableTiming: true });
    expect(untimed.timing).toBe(false);
    rt.eventRecord(a, s);
    rt.eventRecord(untimed, s);
    await rt.streamSynchronize(s);
    expect(expectCode(() => rt.eventElapsedTime(a, untimed), ErrorCode.INVALID_HANDLE).message).toMatch(/disableTiming/);
    const g = gate(rt, s);
    rt.eventRecord(b, s);
    expectCode(() => rt.eventElapsedTime(a, b), ErrorCode.NOT_READY);
    g.open();
    await rt.eventSynchronize(b);
    expect(rt.eventElapsedTime(a, b)).toBeGreaterThanOrEqual(0);
    const c = rt.withDevice(1, () => rt.eventCreate());
    rt.withDevice(1, () => rt.eventRecord(c));
    await rt.eventSynchronize(c);
    expectCode(() => rt.eventElapsedTime(a, c), ErrorCode.INVALID_HANDLE);
  });

  it('eventDestroy: later use fails; a wait already enqueued still resolves', async () => {
    const s = rt.streamCreate();
    const waiter = rt.streamCreate();
    const e = rt.eventCreate();
    const g = gate(rt, s);
    rt.eventRecord(e, s);
    rt.streamWaitEvent(waiter, e);
    rt.eventDestroy(e);
    expectCode(() => rt.eventQuery(e), ErrorCode.INVALID_HANDLE);
    expectCode(() => rt.eventRecord(e, s), ErrorCode.INVALID_HANDLE);
    expectCode(() => rt.eventDestroy(e), ErrorCode.INVALID_HANDLE);
    await expectRejectCode(rt.eventSynchronize(e), ErrorCode.INVALID_HANDLE);
    expect(rt.streamQuery(waiter)).toBe(false);
    g.open();
    await rt.streamSynchronize(waiter);
  });

  it('validates event options and handles', () => {
    expectCode(() => rt.eventCreate({ disableTiming: 'yes' as never }), ErrorCode.INVALID_VALUE);
    expectCode(() => rt.eventCreate({ blockingSync: 1 as never }), ErrorCode.INVALID_VALUE);
    expectCode(() => rt.eventCreate(null as never), ErrorCode.INVALID_VALUE);
    expectCode(() => rt.eventQuery({} as never), ErrorCode.INVALID_HANDLE);
    expectCode(() => rt.eventRecord('e' as never), ErrorCode.INVALID_HANDLE);
    expectCode(() => rt.streamWaitEvent(rt.defaultStream(), 3 as never), ErrorCode.INVALID_HANDLE);
    expectCode(() => rt.eventElapsedTime(rt.eventCreate(), {} as never), ErrorCode.INVALID_HANDLE);
    expectCode(() => rt.eventSynchronizeSync(undefined as never), ErrorCode.INVALID_HANDLE);
  });

  it('reuses event slots after destroy without confusing records', async () => {
    const s = rt.streamCreate();
    for (let i = 0; i < 200; i++) {
      const e = rt.eventCreate();
      rt.eventRecord(e, s);
      rt.eventDestroy(e);
    }
    await rt.streamSynchronize(s);
    const a = rt.eventCreate();
    const b = rt.eventCreate();
    rt.eventRecord(a, s);
    rt.eventRecord(b, s);
    await rt.eventSynchronize(b);
    expect(rt.eventElapsedTime(a, b)).toBeGreaterThanOrEqual(0);
  });
});

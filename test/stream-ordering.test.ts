import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, type Kernel, type Runtime } from '../dist/src/index.js';
import { createRuntime, expectCode, expectRejectCode, gate, kernelsUrl, readLog } from './helpers.js';

const CAPACITY = 256;

describe('stream ordering', () => {
  let rt: Runtime;
  let append: Kernel;
  let log: number;
  beforeAll(async () => {
    rt = await createRuntime();
    append = (await rt.loadModule(kernelsUrl)).getFunction('append');
  });
  beforeEach(async () => {
    if (log) rt.free(log);
    log = rt.malloc(CAPACITY * 4);
    await rt.memset(log, 0, CAPACITY * 4);
  });
  afterAll(async () => {
    await rt.close();
  });

  it('runs work in enqueue order within a stream', async () => {
    const s = rt.streamCreate();
    for (let i = 1; i <= 100; i++) rt.launchKernel(append, [log, CAPACITY, i], s);
    await rt.streamSynchronize(s);
    expect(await readLog(rt, log, CAPACITY)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  });

  it('keeps order across ring wrap-around (more commands than slots)', async () => {
    const s = rt.streamCreate();
    const n = 3000; // the ring has 1024 slots: the producer waits for space
    const big = rt.malloc((n + 1) * 4);
    await rt.memset(big, 0, (n + 1) * 4);
    for (let i = 1; i <= n; i++) rt.launchKernel(append, [big, n + 1, i], s);
    rt.streamSynchronizeSync(s);
    const entries = await readLog(rt, big, n + 1);
    expect(entries.length).toBe(n);
    expect(entries.every((v, i) => v === i + 1)).toBe(true);
    rt.free(big);
  });

  it('streamQuery is true only once all work has finished', async () => {
    const s = rt.streamCreate();
    expect(rt.streamQuery(s)).toBe(true);
    const g = gate(rt, s);
    rt.launchKernel(append, [log, CAPACITY, 1], s);
    expect(rt.streamQuery(s)).toBe(false);
    g.open();
    await rt.streamSynchronize(s);
    expect(rt.streamQuery(s)).toBe(true);
  });

  it('legacy default stream: k1 on s, k2 on default, k3 on s run in that order', async () => {
    const s = rt.streamCreate();
    const g = gate(rt, s);
    rt.launchKernel(append, [log, CAPACITY, 1], s);
    rt.launchKernel(append, [log, CAPACITY, 2]); // default stream: waits for k1
    rt.launchKernel(append, [log, CAPACITY, 3], s); // waits for k2
    g.open();
    await rt.deviceSynchronize();
    expect(await readLog(rt, log, CAPACITY)).toEqual([1, 2, 3]);
  });

  it('nonBlocking streams are exempt from the legacy default stream', async () => {
    const blocked = rt.streamCreate({ nonBlocking: true });
    const g = gate(rt, blocked);
    rt.launchKernel(append, [log, CAPACITY, 1], blocked);
    rt.launchKernel(append, [log, CAPACITY, 2]); // does not wait for the non-blocking stream
    await rt.streamSynchronize(rt.defaultStream());
    g.open();
    await rt.streamSynchronize(blocked);
    expect(await readLog(rt, log, CAPACITY)).toEqual([2, 1]);
  });

  it('serves higher-priority streams first when several have ready work', async () => {
    const low = rt.streamCreate({ priority: 0 });
    const high = rt.streamCreate({ priority: -5 });
    const trigger = rt.streamCreate();
    const ready = rt.eventCreate({ disableTiming: true });
    const g = gate(rt, trigger);
    rt.eventRecord(ready, trigger);
    // Both streams become ready at the same instant: when `ready` completes.
    rt.streamWaitEvent(low, ready);
    rt.streamWaitEvent(high, ready);
    for (let i = 0; i < 5; i++) rt.launchKernel(append, [log, CAPACITY, 100 + i], low);
    for (let i = 0; i < 5; i++) rt.launchKernel(append, [log, CAPACITY, 200 + i], high);
    g.open();
    await Promise.all([rt.streamSynchronize(low), rt.streamSynchronize(high)]);
    expect(await readLog(rt, log, CAPACITY)).toEqual([200, 201, 202, 203, 204, 100, 101, 102, 103, 104]);
  });

  it('clamps priorities to the device range and reports them', () => {
    expect(rt.streamGetPriority(rt.streamCreate({ priority: -100 }))).toBe(-5);
    expect(rt.streamGetPriority(rt.streamCreate({ priority: 7 }))).toBe(0);
    expect(rt.streamGetPriority(rt.streamCreate({ priority: -3 }))).toBe(-3);
    expect(rt.streamGetPriority(rt.streamCreate())).toBe(0);
    expect(rt.streamGetPriority(rt.defaultStream())).toBe(0);
    expectCode(() => rt.streamCreate({ priority: 1.5 }), ErrorCode.INVALID_VALUE);
    expectCode(() => rt.streamCreate({ priority: 'high' as never }), ErrorCode.INVALID_VALUE);
    expectCode(() => rt.streamCreate({ nonBlocking: 1 as never }), ErrorCode.INVALID_VALUE);
    expectCode(() => rt.streamCreate(3 as never), ErrorCode.INVALID_VALUE);
  });

  it('streams belong to the device current at creation', () => {
    const s = rt.withDevice(1, () => rt.streamCreate());
    expect(s.device).toBe(1);
    expect(rt.defaultStream(1).device).toBe(1);
    expect(rt.defaultStream().device).toBe(0);
    expectCode(() => rt.defaultStream(2), ErrorCode.INVALID_DEVICE);
  });

  it('streamDestroy lets enqueued work finish; later use is ERR_INVALID_HANDLE', async () => {
    const s = rt.streamCreate();
    const g = gate(rt, s);
    rt.launchKernel(append, [log, CAPACITY, 9], s);
    rt.streamDestroy(s);
    expectCode(() => rt.launchKernel(append, [log, CAPACITY, 10], s), ErrorCode.INVALID_HANDLE);
    expectCode(() => rt.streamQuery(s), ErrorCode.INVALID_HANDLE);
    expectCode(() => rt.streamDestroy(s), ErrorCode.INVALID_HANDLE);
    expectCode(() => rt.streamSynchronizeSync(s), ErrorCode.INVALID_HANDLE);
    await expectRejectCode(rt.streamSynchronize(s), ErrorCode.INVALID_HANDLE);
    g.open();
    await rt.deviceSynchronize();
    expect(await readLog(rt, log, CAPACITY)).toEqual([9]);
  });

  it('reuses stream records once destroyed streams have drained', async () => {
    for (let i = 0; i < 600; i++) {
      const s = rt.streamCreate();
      rt.launchKernel(append, [log, CAPACITY, 1], s);
      rt.streamDestroy(s);
      if (i % 100 === 99) await rt.deviceSynchronize();
    }
    await rt.deviceSynchronize();
    expect((await readLog(rt, log, CAPACITY)).length).toBe(255); // the log is capped; 600 launches ran
  });

  it('counts live streams against the limit: destroyed ones with work still draining do not', async () => {
    const live = rt.streamCreate();
    for (let i = 0; i < 2000; i++) {
      const s = rt.streamCreate(); // never "all 255 are in use" while one stream is live
      rt.launchKernel(append, [log, CAPACITY, 1], s);
      s.destroy();
    }
    await rt.deviceSynchronize();
    // Only when every record holds a live stream is there none left.
    const all = [];
    for (;;) {
      try {
        all.push(rt.streamCreate());
      } catch (error) {
        expect(error).toMatchObject({ code: ErrorCode.OUT_OF_MEMORY });
        break;
      }
    }
    expect(all.length).toBeLessThan(255);
    all.pop()!.destroy();
    all.push(rt.streamCreate());
    for (const s of [...all, live]) s.destroy();
  });

  it('rejects foreign and malformed stream handles', async () => {
    expectCode(() => rt.streamQuery({} as never), ErrorCode.INVALID_HANDLE);
    expectCode(() => rt.streamGetPriority(undefined as never), ErrorCode.INVALID_HANDLE);
    expectCode(() => rt.streamDestroy(rt.defaultStream()), ErrorCode.INVALID_HANDLE);
    const other = await createRuntime({ deviceCount: 1 });
    try {
      expectCode(() => rt.streamQuery(other.defaultStream()), ErrorCode.INVALID_HANDLE);
    } finally {
      await other.close();
    }
  });
});

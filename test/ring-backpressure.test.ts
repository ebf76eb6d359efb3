import { describe, expect, it } from 'vitest';
import { ErrorCode, type KernelModule, type Runtime } from '../dist/src/index.js';
import { createRuntime, expectCode, gate, kernelsUrl, readLog, useRuntime } from './helpers.js';

// A stream ring holds 1024 command slots. Beyond that the producer normally blocks until
// the device catches up; behind a host function that has yet to settle, blocking would
// deadlock, so commands wait in a host-side backlog instead.
describe('a full stream ring', () => {
  let rt: Runtime;
  let mod: KernelModule;
  useRuntime({}, (r, kernels) => {
    rt = r;
    mod = kernels;
  });

  it('behind a pending host function, takes more than a ring of work without blocking', async () => {
    const n = 3000;
    const log = rt.malloc((n + 1) * 4);
    await rt.memset(log, 0, (n + 1) * 4);
    const s = rt.streamCreate();
    const g = gate(rt, s);
    for (let i = 1; i <= n; i++) rt.launchKernel(mod.getFunction('append'), [log, n + 1, i], s);
    expect(rt.streamQuery(s)).toBe(false);
    g.open();
    await rt.streamSynchronize(s);
    const entries = await readLog(rt, log, n + 1);
    expect(entries.length).toBe(n);
    expect(entries.every((v, i) => v === i + 1)).toBe(true);
    rt.free(log);
  });

  it('keeps backlogged work in stream order with events and waits', async () => {
    const n = 2000;
    const x = rt.malloc(4);
    const y = rt.malloc(4);
    const producer = rt.streamCreate();
    const consumer = rt.streamCreate();
    const done = rt.eventCreate();
    const g = gate(rt, producer);
    for (let i = 0; i < n; i++) rt.launchKernel(mod.getFunction('fill'), [x, 1, i], producer);
    rt.eventRecord(done, producer); // recorded into the backlog
    rt.streamWaitEvent(consumer, done);
    rt.memcpyAsync(y, x, 4, 'deviceToDevice', consumer);
    g.open();
    await rt.streamSynchronize(consumer);
    const out = new Float32Array(1);
    await rt.memcpy(out, y, 4);
    expect(out[0]).toBe(n - 1);
    rt.free(x);
    rt.free(y);
  });

  it('a free waits for backlogged work that uses the memory', async () => {
    const p = rt.malloc(1024);
    const s = rt.streamCreate();
    const g = gate(rt, s);
    for (let i = 0; i < 1500; i++) rt.launchKernel(mod.getFunction('fill'), [p, 256, i], s);
    rt.free(p);
    const q = rt.malloc(1024);
    expect(q).not.toBe(p); // p is still referenced by unpublished commands
    g.open();
    await rt.streamSynchronize(s); // no illegal address: p stayed valid
    rt.free(q);
  });

  it('a blocking wait on a pending host-function promise fails with ERR_NOT_PERMITTED instead of hanging', async () => {
    const s = rt.streamCreate();
    const g = gate(rt, s);
    const error = expectCode(() => rt.streamSynchronizeSync(s), ErrorCode.NOT_PERMITTED);
    expect(error.message).toMatch(/^streamSynchronizeSync: blocked for \d+ ms while a host function's promise is pending/);
    g.open();
    await rt.streamSynchronize(s);
  });

  it('a launch that would wait longer than enqueueTimeoutMs for ring space fails instead of blocking', async () => {
    const local = await createRuntime({ deviceCount: 1, enqueueTimeoutMs: 100 });
    try {
      const k = await local.loadModule(kernelsUrl);
      const s = local.streamCreate();
      local.launchKernel(k.getFunction('spin'), [800], s);
      const error = expectCode(() => {
        for (let i = 0; i < 2000; i++) local.launchKernel(k.getFunction('empty'), [], s);
      }, ErrorCode.TIMEOUT);
      expect(error.message).toMatch(/^launchKernel: no room to enqueue on device 0 for 100 ms/);
      await s.synchronize(); // what was enqueued still runs
    } finally {
      await local.close();
    }
  });

  it('the host-side backlog is bounded: past MAX_BACKLOG commands behind a host function, launches fail', async () => {
    const s = rt.streamCreate();
    const g = gate(rt, s);
    const empty = mod.getFunction('empty');
    let launched = 0;
    const error = expectCode(() => {
      for (;;) {
        rt.launchKernel(empty, [], s);
        launched++;
      }
    }, ErrorCode.OUT_OF_MEMORY);
    expect(error.message).toMatch(/^launchKernel: 65536 commands already wait on the host behind a host function/);
    expect(launched).toBe(65536 + 1023); // a ring full (less the gate), then the backlog
    g.open();
    await s.synchronize();
    s.destroy();
  });
});

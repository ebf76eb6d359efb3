import { describe, expect, it } from 'vitest';
import { ErrorCode, type KernelModule, type Runtime } from '../dist/src/index.js';
import { createRuntime, expectCode, expectRejectCode, gate, kernelsUrl, runScript, useRuntime } from './helpers.js';

describe('nothing hangs', () => {
  let rt: Runtime;
  let mod: KernelModule;
  useRuntime({}, (r, kernels) => {
    rt = r;
    mod = kernels;
  });

  it('deviceReset replaces a worker stuck in a kernel, and the device works again', async () => {
    const other = rt.withDevice(1, () => rt.streamCreate());
    await rt.withDevice(1, async () => {
      const before = await rt.deviceStats(1);
      rt.launchKernel(mod.getFunction('hang'), []);
      const stuck = rt.deviceSynchronize();
      // Statistics come from shared memory: a worker stuck in a kernel does not hold them up.
      let kernels = before.kernels;
      for (let tries = 0; tries < 500 && kernels === before.kernels; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 2));
        kernels = (await rt.deviceStats(1)).kernels; // the worker may take a moment to start the kernel
      }
      expect(kernels).toBe(before.kernels + 1);
      await rt.deviceReset(1);
      await expect(stuck).resolves.toBeUndefined(); // the discarded work counts as done
      const p = rt.malloc(4);
      rt.launchKernel(mod.getFunction('whoami'), [p]);
      const out = new Int32Array(1);
      await rt.memcpy(out, p, 4);
      expect(out[0]).toBe(1);
      rt.free(p);
    });
    await rt.deviceSynchronize(); // device 0 was never affected
    expect(() => other.query()).toThrow(/invalidated by deviceReset/);
  });

  it('a host function that awaits its own stream is refused instead of deadlocking', async () => {
    const s = rt.streamCreate();
    let inner: Promise<unknown> | undefined;
    rt.launchHostFunc(s, async () => {
      inner = s.synchronize();
      await inner.catch(() => undefined);
    });
    await rt.streamSynchronize(s);
    const error = await expectRejectCode(inner!, ErrorCode.NOT_PERMITTED);
    expect(error.message).toMatch(/^streamSynchronize: waits for work queued behind a host function/);
    let device: Promise<unknown> | undefined;
    rt.launchHostFunc(s, async () => {
      device = rt.deviceSynchronize();
      await device.catch(() => undefined);
    });
    await rt.streamSynchronize(s);
    await expectRejectCode(device!, ErrorCode.NOT_PERMITTED);
    s.destroy();
  });

  it('close({ timeoutMs }) ends despite a host function that never settles, and force ends at once', async () => {
    const local = await createRuntime({ deviceCount: 1 });
    local.launchHostFunc(undefined, () => new Promise(() => undefined));
    const started = Date.now();
    await local.close({ timeoutMs: 200 });
    expect(local.closed).toBe(true);
    expect(Date.now() - started).toBeLessThan(10_000);
    const hung = await createRuntime({ deviceCount: 1 });
    const hangs = (await hung.loadModule(kernelsUrl)).getFunction('hang');
    hung.launchKernel(hangs, []);
    const closing = hung.close(); // would wait up to 30 s for the kernel
    await hung.close({ force: true });
    await closing;
    await expect(hung.close()).resolves.toBeUndefined(); // idempotent
  });

  it('a process whose host function never settles exits after close', () => {
    const r = runScript(`
      const rt = await Runtime.create({ deviceCount: 1, deviceMemoryBytes: 1 << 20, hostMemoryBytes: 1 << 20 });
      rt.launchHostFunc(undefined, () => new Promise(() => undefined));
      await rt.close({ timeoutMs: 100 });
      console.log('closed');
    `);
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('closed');
  });

  it('a Promise wait ends at its timeout or abort signal; the work goes on', async () => {
    const s = rt.streamCreate();
    const g = gate(rt, s);
    const timedOut = await expectRejectCode(rt.streamSynchronize(s, { timeoutMs: 30 }), ErrorCode.TIMEOUT);
    expect(timedOut.message).toBe('streamSynchronize: the work waited for did not complete within 30 ms');
    const controller = new AbortController();
    const waiting = s.synchronize({ signal: controller.signal });
    controller.abort(new Error('no longer needed'));
    const abortedError = await expectRejectCode(waiting, ErrorCode.ABORTED);
    expect((abortedError.cause as Error).message).toBe('no longer needed');
    await expectRejectCode(rt.deviceSynchronize({ signal: controller.signal }), ErrorCode.ABORTED); // already aborted
    const e = rt.eventCreate();
    e.record(s);
    await expectRejectCode(e.synchronize({ timeoutMs: 0 }), ErrorCode.TIMEOUT);
    g.open();
    await s.synchronize({ timeoutMs: 10_000 });
    expect(e.query()).toBe(true);
    s.destroy();
  });

  it('a blocking wait ends at its timeout', async () => {
    const s = rt.streamCreate();
    rt.launchKernel(mod.getFunction('spin'), [400], s);
    expectCode(() => rt.streamSynchronizeSync(s, { timeoutMs: 20 }), ErrorCode.TIMEOUT);
    expectCode(() => rt.deviceSynchronizeSync({ timeoutMs: 20 }), ErrorCode.TIMEOUT);
    expectCode(() => rt.streamSynchronizeSync(s, { signal: new AbortController().signal } as never), ErrorCode.INVALID_VALUE);
    await s.synchronize();
    s.destroy();
  });

  it('a module that never finishes loading times out; its devices are lost until reset', async () => {
    const local = await createRuntime();
    try {
      for (const fixture of ['./fixtures/hangs-on-import.mjs', './fixtures/never-settles-on-import.mjs']) {
        await expectRejectCode(local.loadModule(new URL(fixture, import.meta.url), { timeoutMs: 300 }), ErrorCode.TIMEOUT);
        expectCode(() => local.malloc(4), ErrorCode.DEVICE_LOST);
        await local.deviceReset(0);
        await local.deviceReset(1);
      }
      const mod2 = await local.loadModule(kernelsUrl, { timeoutMs: 10_000 });
      local.launchKernel(mod2.getFunction('empty'), []);
      await local.deviceSynchronize({ timeoutMs: 10_000 });
    } finally {
      await local.close({ force: true });
    }
  });

  it('the watchdog (kernelTimeoutMs) ends a hung kernel, awaited or blocked on; other devices carry on', async () => {
    const local = await createRuntime({ kernelTimeoutMs: 150 });
    try {
      const k = await local.loadModule(kernelsUrl);
      local.launchKernel(k.getFunction('hang'), []);
      const other = local.withDevice(1, () => local.streamCreate());
      local.launchKernel(k.getFunction('spin'), [50], other); // a kernel within the limit
      const error = await expectRejectCode(local.deviceSynchronize(), ErrorCode.LAUNCH_TIMEOUT);
      expect(error.message).toMatch(/^deviceSynchronize: device 0 has a sticky error: a kernel on device 0 ran longer than kernelTimeoutMs \(150 ms\)/);
      await other.synchronize();
      await local.deviceReset(0);
      local.launchKernel(k.getFunction('hang'), []);
      expectCode(() => local.deviceSynchronizeSync(), ErrorCode.LAUNCH_TIMEOUT); // the main thread is blocked: checked between wait slices
      await local.deviceReset(0);
      local.launchKernel(k.getFunction('empty'), []);
      await local.deviceSynchronize();
      await expect(createRuntime({ kernelTimeoutMs: 0 })).rejects.toMatchObject({ code: ErrorCode.INVALID_VALUE });
    } finally {
      await local.close();
    }
  });

  it('validates close options', async () => {
    const local = await createRuntime({ deviceCount: 1 });
    await expectRejectCode(local.close({ timeoutMs: -1 }), ErrorCode.INVALID_VALUE);
    await expectRejectCode(local.close({ force: 'yes' as never }), ErrorCode.INVALID_VALUE);
    await local.close({ timeoutMs: Infinity });
  });
});

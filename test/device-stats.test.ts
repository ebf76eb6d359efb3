import { describe, expect, it } from 'vitest';
import type { KernelModule, Runtime } from '../dist/src/index.js';
import { kernelsUrl, useRuntime } from './helpers.js';

describe('device statistics and profiled copies', () => {
  let rt: Runtime;
  let mod: KernelModule;
  useRuntime({}, (r, kernels) => {
    rt = r;
    mod = kernels;
  });

  it('counts every copy of a device, the pageable ones the host does itself included', async () => {
    const p = rt.withDevice(1, () => rt.malloc(4096));
    const host = new Uint8Array(4096).fill(3);
    const before = await rt.deviceStats(1);
    rt.memcpySync(p, host, 4096); // pageable → device on an idle stream: the host copies
    rt.memcpySync(host, p, 1024); // device → pageable: the host copies after the stream reaches it
    const pinned = rt.mallocHost(512);
    rt.memcpySync(pinned, p, 512); // pinned: the worker copies
    const after = await rt.deviceStats(1);
    expect(after.copies - before.copies).toBe(3);
    expect(after.bytesCopied - before.bytesCopied).toBe(4096 + 1024 + 512);
    rt.freeHost(pinned);
    rt.withDevice(1, () => rt.free(p));
  });

  it('counts the modules the user loaded, not the built-in kernels', async () => {
    expect((await rt.deviceStats(0)).modules).toBe(1); // the fixture module, loaded by useRuntime
    await rt.loadModule(kernelsUrl);
    expect((await rt.deviceStats(0)).modules).toBe(2);
    expect(mod.functionNames).toContain('fill');
  });

  it('gives copy and memset API spans the bytes they move', () => {
    const p = rt.malloc(2048);
    rt.profiler.start();
    rt.memcpySync(p, new Uint8Array(2048), 2048);
    rt.memsetAsync(p, 1, 100);
    rt.deviceSynchronizeSync();
    const spans = rt.profiler.stop().filter((r) => r.thread === 'host' && r.kind === 'runtime');
    expect(spans.map((s) => [s.name, s.bytes])).toEqual([
      ['memcpySync', 2048],
      ['memsetAsync', 100],
    ]);
    rt.free(p);
  });
});

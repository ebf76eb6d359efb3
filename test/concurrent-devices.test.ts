import { describe, expect, it } from 'vitest';
import { type KernelModule, type Runtime } from '../dist/src/index.js';
import { useRuntime } from './helpers.js';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('concurrent async work across devices', () => {
  let rt: Runtime;
  let mod: KernelModule;
  useRuntime({ deviceCount: 3 }, (r, kernels) => {
    rt = r;
    mod = kernels;
  });

  it('many tasks through the guard each see only their own device and data', async () => {
    const tasks = 48;
    const n = 2048;
    const results = await Promise.all(
      Array.from({ length: tasks }, (_, task) =>
        rt.withDevice(task % 3, async () => {
          const device = task % 3;
          const s = rt.streamCreate({ priority: -(task % 6) });
          const a = rt.malloc(n * 4);
          const b = rt.malloc(n * 4);
          const out = rt.malloc(n * 4);
          const who = rt.malloc(4);
          expect(rt.pointerGetAttributes(a).device).toBe(device);
          rt.memcpyAsync(a, Float32Array.from({ length: n }, (_, i) => task * 10_000 + i), n * 4, 'hostToDevice', s);
          rt.launchKernel(mod.getFunction('fill'), [b, n, task], s);
          await tick(task % 4);
          expect(rt.getDevice()).toBe(device);
          rt.launchKernel(mod.getFunction('vectorAdd'), [a, b, out, n], s);
          rt.launchKernel(mod.getFunction('whoami'), [who], s);
          await rt.streamSynchronize(s);
          expect(rt.getDevice()).toBe(device);
          const host = new Float32Array(n);
          await rt.memcpy(host, out, n * 4);
          const w = new Int32Array(1);
          await rt.memcpy(w, who, 4);
          [a, b, out, who].forEach((p) => rt.free(p));
          rt.streamDestroy(s);
          return { device, ran: w[0], ok: host.every((v, i) => v === task * 10_000 + i + task) };
        }),
      ),
    );
    results.forEach((r, task) => expect(r).toEqual({ device: task % 3, ran: task % 3, ok: true }));
    expect(rt.getDevice()).toBe(0);
  });

  it('devices exchange data through events while tasks interleave', async () => {
    // A ring: device d fills its buffer, device d+1 waits for d's event and copies it in.
    const n = 1024;
    const rounds = 20;
    const bufs = [0, 1, 2].map((d) => rt.withDevice(d, () => rt.malloc(n * 4)));
    const streams = [0, 1, 2].map((d) => rt.withDevice(d, () => rt.streamCreate()));
    const events = [0, 1, 2].map((d) => rt.withDevice(d, () => rt.eventCreate({ disableTiming: true })));
    for (let round = 0; round < rounds; round++) {
      const d = round % 3;
      const next = (d + 1) % 3;
      rt.withDevice(d, () => {
        rt.launchKernel(mod.getFunction('fill'), [bufs[d]!, n, round], streams[d]);
        rt.eventRecord(events[d]!, streams[d]);
      });
      rt.streamWaitEvent(streams[next]!, events[d]!);
      rt.memcpyAsync(bufs[next]!, bufs[d]!, n * 4, 'deviceToDevice', streams[next]);
      rt.withDevice(next, () => rt.eventRecord(events[next]!, streams[next]));
      rt.streamWaitEvent(streams[d]!, events[next]!); // d may not refill before next has copied
    }
    await Promise.all(streams.map((s) => rt.streamSynchronize(s)));
    const last = (rounds - 1) % 3;
    const copiedInto = (last + 1) % 3;
    const host = new Float32Array(n);
    await rt.memcpy(host, bufs[copiedInto]!, n * 4);
    expect(host.every((v) => v === rounds - 1)).toBe(true);
    bufs.forEach((p) => rt.free(p));
  });
});

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode, type KernelModule, type ProfileRecord, type Runtime } from '../dist/src/index.js';
import { expectCode, gate, useRuntime } from './helpers.js';

describe('the profiler', () => {
  let rt: Runtime;
  let mod: KernelModule;
  useRuntime({}, (r, kernels) => {
    rt = r;
    mod = kernels;
  });

  /** Two streams on device 0, one on device 1; stream b waits for an event of stream a. */
  async function workload(): Promise<ProfileRecord[]> {
    const a = rt.streamCreate();
    const b = rt.streamCreate();
    const c = rt.withDevice(1, () => rt.streamCreate());
    const p = rt.malloc(4096);
    const q = rt.withDevice(1, () => rt.malloc(4096));
    const done = rt.eventCreate();
    rt.profiler.start();
    rt.free(rt.malloc(256));
    // Stream a is held until b's wait is enqueued: a record already complete adds no wait (and no flow).
    const held = gate(rt, a);
    rt.launchKernel(mod.getFunction('spin'), [2], a);
    rt.launchKernel(mod.getFunction('fill'), [p, 1024, 1], a);
    rt.eventRecord(done, a);
    rt.streamWaitEvent(b, done);
    held.open();
    rt.memsetAsync(p, 0, 4096, b);
    rt.launchKernel(mod.getFunction('fill'), [q, 1024, 2], c);
    rt.memcpyAsync(q, p, 4096, 'deviceToDevice', c);
    await b.synchronize();
    rt.streamSynchronizeSync(c);
    return rt.profiler.stop();
  }

  it('records API calls on the host and execution on the devices, linked by correlation ids', async () => {
    const records = await workload();
    const kernels = records.filter((r) => r.thread === 'device' && r.kind === 'kernel');
    expect(kernels.map((k) => `${k.name}@${k.device}`).sort()).toEqual(['fill@0', 'fill@1', 'spin@0']);
    const spin = kernels.find((k) => k.name === 'spin')!;
    expect(spin.end - spin.start).toBeGreaterThan(0);
    for (const k of kernels) {
      const launch = records.find((r) => r.thread === 'host' && r.kind === 'runtime' && r.correlation === k.correlation);
      expect(launch?.name).toBe('launchKernel');
      expect(launch!.stream).toBe(k.stream);
      expect(k.start).toBeGreaterThanOrEqual(launch!.start); // runs after it was launched
    }
    expect(records.filter((r) => r.thread === 'host' && (r.name === 'malloc' || r.name === 'free')).map((r) => r.name)).toEqual(['malloc', 'free']);
    const memset = records.find((r) => r.thread === 'device' && r.kind === 'memset')!;
    expect(memset.bytes).toBe(4096);
    expect(records.find((r) => r.thread === 'device' && r.kind === 'memcpy')!.bytes).toBe(4096);
    // The wait on stream b ends after the event recorded on stream a completes.
    const recorded = records.find((r) => r.thread === 'device' && r.kind === 'eventRecord')!;
    const wait = records.find((r) => r.thread === 'device' && r.kind === 'wait' && r.stream === memset.stream)!;
    expect(wait.end).toBeGreaterThanOrEqual(recorded.end);
    // Spans nest as the work did: the device work a synchronize waited for ends inside it.
    const sync = records.find((r) => r.kind === 'synchronization' && r.name === 'streamSynchronize')!;
    expect(memset.end).toBeLessThanOrEqual(sync.end);
    expect(records.every((r) => r.end >= r.start)).toBe(true);
  });

  it('exports Trace Event Format JSON: a process per device, a track per stream, flow arrows', async () => {
    await workload();
    const dir = mkdtempSync(join(tmpdir(), 'openreg-trace-'));
    try {
      const path = join(dir, 'trace.json');
      await rt.profiler.exportChromeTrace(path);
      const trace = JSON.parse(readFileSync(path, 'utf8')) as { traceEvents: Record<string, unknown>[] };
      expect(Array.isArray(trace.traceEvents)).toBe(true);
      for (const e of trace.traceEvents) {
        expect(['X', 'M', 's', 'f']).toContain(e.ph);
        expect(typeof e.name).toBe('string');
        expect(Number.isInteger(e.pid)).toBe(true);
        expect(Number.isInteger(e.tid)).toBe(true);
        if (e.ph !== 'M') expect(e.ts as number).toBeGreaterThanOrEqual(0);
        if (e.ph === 'X') expect(e.dur as number).toBeGreaterThanOrEqual(0);
      }
      const processes = trace.traceEvents.filter((e) => e.name === 'process_name').map((e) => (e.args as { name: string }).name);
      expect(processes).toEqual(['device 0', 'device 1', 'host']);
      const tracks = trace.traceEvents.filter((e) => e.name === 'thread_name' && e.pid === 0).length;
      expect(tracks).toBeGreaterThanOrEqual(2); // streams a and b of device 0
      const starts = trace.traceEvents.filter((e) => e.ph === 's');
      const ends = trace.traceEvents.filter((e) => e.ph === 'f');
      expect(starts.length).toBe(ends.length);
      expect(new Set(starts.map((e) => e.id))).toEqual(new Set(ends.map((e) => e.id)));
      expect(starts.some((e) => e.name === 'event wait')).toBe(true);
      expect(starts.some((e) => e.name === 'launch')).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('tags calls with the correlation id on top of the stack of their async context', async () => {
    const s = rt.streamCreate();
    rt.profiler.start();
    rt.profiler.pushCorrelationId(4242);
    rt.launchKernel(mod.getFunction('empty'), [], s);
    expect(rt.profiler.popCorrelationId()).toBe(4242);
    await rt.profiler.withCorrelationId(77, async () => {
      await new Promise((r) => setImmediate(r));
      rt.launchKernel(mod.getFunction('empty'), [], s);
    });
    rt.launchKernel(mod.getFunction('empty'), [], s);
    await s.synchronize();
    const kernels = rt.profiler.stop().filter((r) => r.thread === 'device' && r.kind === 'kernel');
    expect(kernels.map((k) => k.correlation).slice(0, 2)).toEqual([4242, 77]);
    expect(kernels[2]!.correlation).not.toBe(77);
    expectCode(() => rt.profiler.pushCorrelationId(0), ErrorCode.INVALID_VALUE);
  });

  it('links each call to its own device work even when calls share a correlation id; concurrent waits get their own lanes', async () => {
    const s = rt.streamCreate();
    const t = rt.streamCreate({ nonBlocking: true });
    rt.profiler.start();
    rt.profiler.withCorrelationId(9, () => {
      for (let i = 0; i < 3; i++) rt.launchKernel(mod.getFunction('spin'), [1], s);
    });
    rt.launchKernel(mod.getFunction('spin'), [5], t);
    await Promise.all([s.synchronize(), t.synchronize()]);
    rt.profiler.stop();
    const dir = mkdtempSync(join(tmpdir(), 'openreg-trace-'));
    try {
      const path = join(dir, 'trace.json');
      await rt.profiler.exportChromeTrace(path);
      const events = (JSON.parse(readFileSync(path, 'utf8')) as { traceEvents: Record<string, unknown>[] }).traceEvents;
      const launches = events.filter((e) => e.ph === 'X' && e.name === 'launchKernel' && (e.args as { correlation: number }).correlation === 9);
      expect(launches.length).toBe(3);
      const starts = events.filter((e) => e.ph === 's' && e.name === 'launch');
      // Each of the three calls starts its own arrow, at its own time.
      for (const l of launches) expect(starts.filter((a) => a.ts === l.ts && a.tid === l.tid).length).toBe(1);
      const waits = events.filter((e) => e.ph === 'X' && e.cat === 'synchronization');
      expect(waits.length).toBe(2);
      const overlap = (a: Record<string, unknown>, b: Record<string, unknown>) =>
        (a.ts as number) < (b.ts as number) + (b.dur as number) && (b.ts as number) < (a.ts as number) + (a.dur as number);
      if (overlap(waits[0]!, waits[1]!)) expect(waits[0]!.tid).not.toBe(waits[1]!.tid);
      expect(waits.every((w) => w.tid !== 0)).toBe(true); // off the main thread's track of calls
    } finally {
      rmSync(dir, { recursive: true, force: true });
      s.destroy();
      t.destroy();
    }
  });

  it('records nothing while stopped', async () => {
    rt.profiler.start();
    const before = rt.profiler.stop().length;
    expect(before).toBe(0);
    rt.launchKernel(mod.getFunction('empty'), []);
    await rt.deviceSynchronize();
    rt.profiler.start();
    expect(rt.profiler.stop()).toEqual([]);
    rt.profiler.start();
    await expect(rt.profiler.exportChromeTrace('/tmp/x.json')).rejects.toMatchObject({ code: ErrorCode.INVALID_VALUE });
    rt.profiler.stop();
    await expect(rt.profiler.exportChromeTrace('')).rejects.toMatchObject({ code: ErrorCode.INVALID_VALUE });
  });
});

describe('communicationOverlap', () => {
  const record = (kind: ProfileRecord['kind'], device: number, stream: number, start: number, end: number): ProfileRecord => ({
    kind, name: kind, thread: 'device', device, stream, start, end, bytes: 0, correlation: 0, span: 0,
  });

  it("counts the collectives' kernels and copies, their waits excluded, and the part of them computation elsewhere covers", async () => {
    const { communicationOverlap } = await import('../dist/src/integration/profiler/communication-overlap.js');
    const records = [
      record('collective', 0, 1, 0, 10),
      record('wait', 0, 1, 0, 1),
      record('memcpy', 0, 1, 1, 5),
      record('kernel', 0, 1, 6, 10),
      // Computation on device 1: two overlapping kernels cover 3..7 once, not twice.
      record('kernel', 1, 0, 3, 6),
      record('kernel', 1, 0, 4, 7),
      // Device 0's own work after the collective covers nothing.
      record('kernel', 0, 0, 10, 12),
    ];
    expect(communicationOverlap(records)).toEqual({ communicationMs: 8, hiddenMs: 3, fraction: 3 / 8 });
    expect(communicationOverlap(records.slice(4))).toEqual({ communicationMs: 0, hiddenMs: 0, fraction: 0 });
  });
});

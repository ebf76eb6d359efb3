import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode, type KernelModule, OpenRegError, type Runtime, type Stream, ones, shutdownCpuPool } from '../dist/src/index.js';
import { createRuntime, expectCode, gate, kernelsUrl, runScript } from './helpers.js';

// Verdicts of the stream sanitizer that were wrong (issue 15, items 9-12): a free it saw
// but did not raise, and orderings it did not see (host functions after a copy, queries
// that saw the work done, what happened while it was off).
const N = 256;
let rt: Runtime;
let k: KernelModule;
let a: Stream;
let b: Stream;

beforeAll(async () => {
  rt = await createRuntime({ deviceCount: 1, sanitize: true });
  k = await rt.loadModule(kernelsUrl);
  a = rt.streamCreate({ nonBlocking: true });
  b = rt.streamCreate({ nonBlocking: true });
});

afterAll(async () => {
  await rt?.close();
  await shutdownCpuPool();
});

beforeEach(async () => {
  rt.sanitizer.enable({ mode: 'throw' });
  await rt.deviceSynchronize();
  rt.sanitizer.clear();
});

const write = (ptr: number, stream: Stream) => rt.launchKernel(k.getFunction('fill'), [ptr, N, 1], { stream, writes: [[ptr, N * 4]] });
const read = (ptr: number, stream: Stream) => rt.launchKernel(k.getFunction('empty'), [], { stream, reads: [[ptr, N * 4]] });

/** Lets the event loop turn until `done()` holds (the device works meanwhile). */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setImmediate(resolve));
}

/** Device memory holding N floats written and synchronized before any stream uses it. */
function ready(): number {
  const p = rt.malloc(N * 4);
  rt.memsetSync(p, 7, N * 4);
  return p;
}

describe('disposing a tensor another stream still uses, without recordStream', () => {
  it('throws ERR_DATA_RACE at dispose() in throw mode, and the memory is freed all the same', async () => {
    const x = ones([N], { device: 'openreg' });
    await rt.deviceSynchronize();
    const y = rt.withStream(b, () => x.mul(2));
    const before = rt.cachingAllocator.memoryStats().allocatedBytes.all.current;
    const error = expectCode(() => x.dispose(), ErrorCode.DATA_RACE);
    expect(error.message).toMatch(/^dispose: dispose on Stream\(device 0, #\d+(, default)?\) frees \d+ bytes at 0x[0-9a-f]+ while .+ on Stream\(device 0, #\d+\) may still read them \(a missing recordStream\?\)/);
    expect(error.message).toMatch(/freed at .*sanitizer-verdicts\.test\.ts/);
    expect(rt.sanitizer.reports().map((r) => r.kind)).toEqual(['free']);
    expect(rt.cachingAllocator.memoryStats().allocatedBytes.all.current).toBeLessThan(before);
    expect(() => x.dispose()).not.toThrow(); // disposed: a second call does nothing
    await rt.streamSynchronize(b);
    y.dispose();
  });

  it('in collect mode, records it and throws it at the next synchronization instead', async () => {
    rt.sanitizer.enable({ mode: 'collect' });
    const x = ones([N], { device: 'openreg' });
    await rt.deviceSynchronize();
    const y = rt.withStream(b, () => x.mul(2));
    x.dispose();
    expect(rt.sanitizer.reports().map((r) => r.kind)).toEqual(['free']);
    await expect(rt.deviceSynchronize()).rejects.toMatchObject({ code: ErrorCode.DATA_RACE });
    y.dispose();
  });

  it('is not raised from the garbage-collection backstop (a finalizer must not throw); the report is kept', () => {
    const entry = JSON.stringify(fileURLToPath(new URL('../dist/src/index.js', import.meta.url)));
    const r = runScript(
      `const { ones } = await import(${entry});
       process.on('uncaughtException', (e) => { console.log('uncaught ' + e.message); process.exit(3); });
       const rt = await Runtime.create({ deviceCount: 1, sanitize: true, deviceMemoryBytes: 8 << 20, hostMemoryBytes: 8 << 20, stagingBytes: 1 << 20 });
       const s = rt.streamCreate({ nonBlocking: true });
       let y;
       await (async () => {
         const x = ones([256], { device: 'openreg' });
         await rt.deviceSynchronize();
         y = rt.withStream(s, () => x.mul(2));
       })();
       for (let i = 0; i < 200 && rt.sanitizer.reports().length === 0; i++) {
         globalThis.gc();
         await new Promise((resolve) => setTimeout(resolve, 5));
       }
       console.log(rt.sanitizer.reports().map((r) => r.kind).join());
       y.dispose();
       await rt.deviceSynchronize();
       await rt.close();
       const { shutdownCpuPool } = await import(${entry});
       await shutdownCpuPool();`,
      ['--expose-gc'],
    );
    expect({ stdout: r.stdout.trim(), status: r.status }, r.stderr).toEqual({ stdout: 'free', status: 0 });
  });
});

describe('a host function enqueued after a copy into pinned memory', () => {
  it('is ordered after the copy: checkHostAccess inside it is clean', async () => {
    const p = ready();
    const out = rt.mallocHost(N * 4);
    rt.memcpyAsync(out, p, N * 4, 'deviceToHost', a);
    let caught: unknown;
    let seen: number | undefined;
    rt.launchHostFunc(a, () => {
      try {
        rt.sanitizer.checkHostAccess(out, 'read');
        seen = out[0];
      } catch (error) {
        caught = error;
      }
    });
    await rt.streamSynchronize(a);
    expect(caught).toBeUndefined();
    expect(seen).toBe(7);
    expect(rt.sanitizer.reports()).toEqual([]);
    rt.freeHost(out);
    rt.free(p);
  });

  it('and so is what it awaits', async () => {
    const p = ready();
    const out = rt.mallocHost(N * 4);
    rt.memcpyAsync(out, p, N * 4, 'deviceToHost', a);
    let caught: unknown;
    rt.launchHostFunc(a, async () => {
      await new Promise((resolve) => setImmediate(resolve));
      try {
        rt.sanitizer.checkHostAccess(out, 'write');
      } catch (error) {
        caught = error;
      }
    });
    await rt.streamSynchronize(a);
    expect(caught).toBeUndefined();
    expect(rt.sanitizer.reports()).toEqual([]);
    rt.freeHost(out);
    rt.free(p);
  });

  it('on another stream it is not ordered after the copy: the race is still reported', async () => {
    const p = ready();
    const out = rt.mallocHost(N * 4);
    rt.memcpyAsync(out, p, N * 4, 'deviceToHost', a);
    let caught: unknown;
    rt.launchHostFunc(b, () => {
      try {
        rt.sanitizer.checkHostAccess(out, 'read');
      } catch (error) {
        caught = error;
      }
    });
    await rt.deviceSynchronize();
    expect(caught).toBeInstanceOf(OpenRegError);
    expect((caught as OpenRegError).code).toBe(ErrorCode.DATA_RACE);
    rt.freeHost(out);
    rt.free(p);
  });
});

describe('disabling and enabling again', () => {
  it('forgets freed ranges: memory allocated while off at a recycled address is not a use after free', async () => {
    const p = rt.malloc(N * 4);
    rt.free(p);
    rt.sanitizer.disable();
    await rt.deviceSynchronize();
    const q = rt.malloc(N * 4);
    expect(q).toBe(p); // the address the sanitizer saw freed
    rt.sanitizer.enable();
    expect(() => rt.memsetAsync(q, 0, N * 4, a)).not.toThrow();
    expect(() => write(q, a)).not.toThrow();
    expect(rt.sanitizer.reports()).toEqual([]);
    await rt.deviceSynchronize();
    rt.free(q);
  });

  it('forgets accesses: work ordered while off does not race with work after', async () => {
    const p = ready();
    write(p, a);
    rt.sanitizer.disable();
    await rt.streamSynchronize(a); // unseen by the sanitizer
    rt.sanitizer.enable();
    expect(() => read(p, b)).not.toThrow();
    expect(rt.sanitizer.reports()).toEqual([]);
    await rt.deviceSynchronize();
    rt.free(p);
  });

  it('adopts pinned memory allocated while off', async () => {
    const p = ready();
    rt.sanitizer.disable();
    const out = rt.mallocHost(N * 4);
    rt.sanitizer.enable();
    rt.memcpyAsync(out, p, N * 4, 'deviceToHost', a);
    expectCode(() => rt.sanitizer.checkHostAccess(out), ErrorCode.DATA_RACE);
    await rt.streamSynchronize(a);
    expect(() => rt.sanitizer.checkHostAccess(out)).not.toThrow();
    rt.freeHost(out);
    rt.free(p);
  });
});

describe('a query that returned true', () => {
  it('streamQuery orders later host work after the stream', async () => {
    const p = ready();
    write(p, a);
    await until(() => rt.streamQuery(a));
    expect(() => read(p, b)).not.toThrow();
    expect(rt.sanitizer.reports()).toEqual([]);
    await rt.deviceSynchronize();
    rt.free(p);
  });

  it('eventQuery orders later host work after the recorded work', async () => {
    const p = ready();
    const e = rt.eventCreate();
    write(p, a);
    rt.eventRecord(e, a);
    await until(() => rt.eventQuery(e));
    expect(() => read(p, b)).not.toThrow();
    expect(rt.sanitizer.reports()).toEqual([]);
    await rt.deviceSynchronize();
    rt.eventDestroy(e);
    rt.free(p);
  });

  it('a query that returned false orders nothing', async () => {
    const p = ready();
    const g = gate(rt, a);
    write(p, a);
    expect(rt.streamQuery(a)).toBe(false);
    expectCode(() => read(p, b), ErrorCode.DATA_RACE);
    g.open();
    await rt.deviceSynchronize();
    rt.free(p);
  });

  it('in collect mode, a query is a poll: it does not throw the collected reports', async () => {
    rt.sanitizer.enable({ mode: 'collect' });
    const p = ready();
    write(p, a);
    read(p, b); // collected
    await until(() => rt.streamQuery(a) && rt.streamQuery(b));
    expect(rt.sanitizer.reports()).toHaveLength(1);
    await expect(rt.deviceSynchronize()).rejects.toMatchObject({ code: ErrorCode.DATA_RACE });
    rt.free(p);
  });
});

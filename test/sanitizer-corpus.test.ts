import { describe, expect, it } from 'vitest';
import { ErrorCode, type KernelModule, OpenRegError, type Runtime, type Stream } from '../dist/src/index.js';
import { CORRECT, type Program, RACY, finish, streamsFor } from './corpus/stream-programs.js';
import { useRuntime } from './helpers.js';

// The stream sanitizer's acceptance corpus: small programs, half with a missing
// synchronization and half correctly synchronized (events, stream waits, the legacy default
// stream, host synchronizations, recordStream, peer copies, tensor views). The sanitizer
// must flag every racy one and none of the correct ones.
let rt: Runtime;
let k: KernelModule;
useRuntime({ deviceCount: 2, sanitize: true, deviceMemoryBytes: 64 << 20 }, (r, m) => {
  rt = r;
  k = m;
});

async function flagged(program: Program): Promise<boolean> {
  rt.sanitizer.clear();
  const ctx = streamsFor(rt, k);
  let raced = false;
  try {
    await program(ctx);
  } catch (error) {
    if (!(error instanceof OpenRegError) || error.code !== ErrorCode.DATA_RACE) throw error;
    raced = true;
  }
  await finish(ctx);
  return raced || rt.sanitizer.reports().length > 0;
}

describe('the sanitizer corpus', () => {
  it('has at least 20 programs, half of them racy', () => {
    expect(Object.keys(RACY).length + Object.keys(CORRECT).length).toBeGreaterThanOrEqual(20);
    expect(Object.keys(RACY).length).toBeGreaterThanOrEqual(10);
  });
  it.each(Object.entries(RACY))('flags: %s', async (_name, program) => {
    expect(await flagged(program)).toBe(true);
  });
  it.each(Object.entries(CORRECT))('passes: %s', async (_name, program) => {
    expect(await flagged(program)).toBe(false);
  });
});

const N = 256;
const write = (ptr: number, stream: Stream) => rt.launchKernel(k.getFunction('fill'), [ptr, N, 1], { stream, writes: [[ptr, N * 4]] });
const read = (ptr: number, stream: Stream) => rt.launchKernel(k.getFunction('empty'), [], { stream, reads: [[ptr, N * 4]] });

describe('reports', () => {
  it('name both accesses, their streams and call sites, and the allocation site (with stacks on)', () => {
    rt.sanitizer.enable({ stacks: true });
    rt.sanitizer.clear();
    const a = rt.streamCreate({ nonBlocking: true });
    const b = rt.streamCreate({ nonBlocking: true });
    const p = rt.malloc(N * 4);
    write(p, a);
    let error: OpenRegError | undefined;
    try {
      read(p, b);
    } catch (e) {
      error = e as OpenRegError;
    }
    expect(error?.code).toBe(ErrorCode.DATA_RACE);
    expect(error?.message).toMatch(/^launchKernel: data race on device 0: launchKernel empty on Stream\(device 0, #\d+\) reads bytes/);
    const [report] = rt.sanitizer.reports();
    expect(report?.kind).toBe('race');
    expect(report?.access.site).toMatch(/sanitizer-corpus\.test\.ts/);
    expect(report?.other?.site).toMatch(/sanitizer-corpus\.test\.ts/);
    expect(report?.allocation?.site).toMatch(/sanitizer-corpus\.test\.ts/);
    rt.streamDestroy(a);
    rt.streamDestroy(b);
    rt.sanitizer.enable({ stacks: false });
  });

  it('without stacks a report still names the site of the access that raced', () => {
    rt.sanitizer.clear();
    const a = rt.streamCreate({ nonBlocking: true });
    const b = rt.streamCreate({ nonBlocking: true });
    const p = rt.malloc(N * 4);
    write(p, a);
    expect(() => read(p, b)).toThrow(/this access at .*sanitizer-corpus\.test\.ts/);
    expect(rt.sanitizer.reports()[0]?.other?.site).toMatch(/stacks: true/);
    rt.streamDestroy(a);
    rt.streamDestroy(b);
  });

  it('a kernel can declare its accesses once, for every launch', () => {
    rt.sanitizer.clear();
    const add = k.getFunction('vectorAdd').declareAccesses(([x, y, out, n]) => ({ reads: [[x as number, (n as number) * 4], [y as number, (n as number) * 4]], writes: [[out as number, (n as number) * 4]] }));
    const [a, b] = [rt.streamCreate({ nonBlocking: true }), rt.streamCreate({ nonBlocking: true })];
    const [p, q, r] = [rt.malloc(N * 4), rt.malloc(N * 4), rt.malloc(N * 4)];
    rt.launchKernel(add, [p, p, q, N], a); // reads p, writes q
    rt.launchKernel(add, [p, p, r, N], b); // reads p, writes r: no conflict
    expect(() => rt.launchKernel(add, [q, q, r, N], b)).toThrow(/reads bytes .* that launchKernel vectorAdd on Stream\(device 0, #\d+\) writes/);
    add.declareAccesses(undefined);
    rt.streamDestroy(a);
    rt.streamDestroy(b);
  });

  it('collect mode gathers reports and throws them at the next synchronization', async () => {
    rt.sanitizer.enable({ mode: 'collect' });
    try {
      rt.sanitizer.clear();
      const a = rt.streamCreate({ nonBlocking: true });
      const b = rt.streamCreate({ nonBlocking: true });
      const p = rt.malloc(N * 4);
      write(p, a);
      read(p, b); // recorded, not thrown
      expect(rt.sanitizer.reports()).toHaveLength(1);
      await expect(rt.streamSynchronize(b)).rejects.toMatchObject({ code: ErrorCode.DATA_RACE, message: expect.stringMatching(/1 data race since the last synchronization/) });
      await rt.deviceSynchronize();
      rt.streamDestroy(a);
      rt.streamDestroy(b);
    } finally {
      rt.sanitizer.enable({ mode: 'throw' });
    }
  });
});

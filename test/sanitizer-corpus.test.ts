import { describe, expect, it } from 'vitest';
import { ErrorCode, type KernelModule, OpenRegError, type Runtime, type Stream, ones, zeros } from '../dist/src/index.js';
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

type Program = (rt: Runtime, k: KernelModule, s: { a: Stream; b: Stream; c: Stream; d1: Stream }) => unknown;

const N = 256;
/** A kernel that writes (or reads) `ptr`'s N floats, declared for the sanitizer. */
const write = (ptr: number, stream: Stream) => rt.launchKernel(k.getFunction('fill'), [ptr, N, 1], { stream, writes: [[ptr, N * 4]] });
const read = (ptr: number, stream: Stream) => rt.launchKernel(k.getFunction('empty'), [], { stream, reads: [[ptr, N * 4]] });

const RACY: Record<string, Program> = {
  'a kernel reads on another stream what a kernel wrote, no wait': (rt, _k, s) => {
    const p = rt.malloc(N * 4);
    write(p, s.a);
    read(p, s.b);
  },
  'a memset and a copy out of it on two streams': (rt, _k, s) => {
    const p = rt.malloc(N * 4);
    rt.memsetAsync(p, 0, N * 4, s.a);
    rt.memcpyAsync(rt.mallocHost(N * 4), p, N * 4, 'deviceToHost', s.b);
  },
  'two writes to overlapping bytes': (rt, _k, s) => {
    const p = rt.malloc(N * 4);
    rt.memsetAsync(p, 1, 512, s.a);
    rt.memsetAsync(p + 256, 2, 512, s.b);
  },
  'a tensor op on one stream, its consumer on another': async (rt, _k, s) => {
    const x = ones([N], { device: 'openreg' });
    await rt.deviceSynchronize();
    const y = rt.withStream(s.a, () => x.mul(2));
    rt.withStream(s.b, () => y.add(1));
  },
  'overlapping views of one tensor written on two streams': async (rt, _k, s) => {
    const z = zeros([10], { device: 'openreg' });
    await rt.deviceSynchronize();
    rt.withStream(s.a, () => z.slice(0, 0, 6).fill_(1));
    rt.withStream(s.b, () => z.slice(0, 4, 10).fill_(2));
  },
  'freeing a tensor another stream still reads (no recordStream)': async (rt, _k, s) => {
    const x = ones([N], { device: 'openreg' });
    await rt.deviceSynchronize();
    rt.withStream(s.b, () => x.mul(2));
    x.dispose();
  },
  'a kernel on freed memory (use after free)': (rt, _k, s) => {
    const p = rt.malloc(N * 4);
    rt.free(p);
    read(p, s.a);
  },
  'an event recorded before the producer': (rt, _k, s) => {
    const p = rt.malloc(N * 4);
    const e = rt.eventCreate();
    rt.eventRecord(e, s.a);
    write(p, s.a);
    rt.streamWaitEvent(s.b, e);
    read(p, s.b);
  },
  'undeclared raw kernels: pointer arguments count as read-write': (rt, k, s) => {
    const p = rt.malloc(N * 4);
    const q = rt.malloc(N * 4);
    rt.launchKernel(k.getFunction('fill'), [p, N, 1], s.a);
    rt.launchKernel(k.getFunction('vectorAdd'), [p, p, q, N], s.b);
  },
  'a peer copy into memory another device stream writes': (rt, _k, s) => {
    const src = rt.malloc(N * 4);
    const dst = rt.withDevice(1, () => rt.malloc(N * 4));
    rt.memcpyAsync(dst, src, N * 4, 'deviceToDevice', s.a);
    rt.withDevice(1, () => write(dst, s.d1));
  },
  'a host synchronization of the wrong stream': async (rt, _k, s) => {
    const p = rt.malloc(N * 4);
    write(p, s.a);
    await rt.streamSynchronize(s.b);
    read(p, s.c);
  },
};

const CORRECT: Record<string, Program> = {
  'an event after the producer, waited for by the consumer': (rt, _k, s) => {
    const p = rt.malloc(N * 4);
    write(p, s.a);
    const e = rt.eventCreate();
    rt.eventRecord(e, s.a);
    rt.streamWaitEvent(s.b, e);
    read(p, s.b);
  },
  'streamWaitStream': (rt, _k, s) => {
    const p = rt.malloc(N * 4);
    write(p, s.a);
    rt.streamWaitStream(s.b, s.a);
    read(p, s.b);
  },
  'the legacy default stream orders blocking streams': (rt) => {
    const p = rt.malloc(N * 4);
    const blocking = rt.streamCreate();
    write(p, blocking);
    read(p, rt.defaultStream());
    rt.streamDestroy(blocking);
  },
  'a host synchronization of the producer': async (rt, _k, s) => {
    const p = rt.malloc(N * 4);
    write(p, s.a);
    await rt.streamSynchronize(s.a);
    read(p, s.b);
  },
  'deviceSynchronize between': async (rt, _k, s) => {
    const p = rt.malloc(N * 4);
    write(p, s.a);
    await rt.deviceSynchronize();
    write(p, s.b);
  },
  'recordStream before freeing a tensor another stream used': async (rt, _k, s) => {
    const x = ones([N], { device: 'openreg' });
    await rt.deviceSynchronize(); // x was made on the default stream, which s.b does not wait for
    rt.withStream(s.b, () => x.mul(2));
    x.recordStream(s.b);
    x.dispose();
  },
  'tensor ops in one stream': (rt, _k, s) =>
    rt.withStream(s.a, () => {
      const x = ones([N], { device: 'openreg' });
      x.mul(2).add(1).sum();
    }),
  'disjoint views written on two streams': async (rt, _k, s) => {
    const z = zeros([10], { device: 'openreg' });
    await rt.deviceSynchronize();
    rt.withStream(s.a, () => z.slice(0, 0, 4).fill_(1));
    rt.withStream(s.b, () => z.slice(0, 6, 10).fill_(2));
  },
  'two streams only reading': async (rt, _k, s) => {
    const p = rt.malloc(N * 4);
    write(p, s.a);
    await rt.streamSynchronize(s.a);
    read(p, s.b);
    read(p, s.c);
  },
  'a peer copy, then an event wait on the other device': (rt, _k, s) => {
    const src = rt.malloc(N * 4);
    const dst = rt.withDevice(1, () => rt.malloc(N * 4));
    rt.memcpyAsync(dst, src, N * 4, 'deviceToDevice', s.a);
    const e = rt.eventCreate();
    rt.eventRecord(e, s.a);
    rt.streamWaitEvent(s.d1, e);
    rt.withDevice(1, () => write(dst, s.d1));
  },
  'eventSynchronize on the host': async (rt, _k, s) => {
    const p = rt.malloc(N * 4);
    write(p, s.a);
    const e = rt.eventCreate();
    rt.eventRecord(e, s.a);
    await rt.eventSynchronize(e);
    write(p, s.b);
  },
};

async function flagged(program: Program): Promise<boolean> {
  rt.sanitizer.clear();
  const streams = {
    a: rt.streamCreate({ nonBlocking: true }),
    b: rt.streamCreate({ nonBlocking: true }),
    c: rt.streamCreate({ nonBlocking: true }),
    d1: rt.withDevice(1, () => rt.streamCreate({ nonBlocking: true })),
  };
  let raced = false;
  try {
    await program(rt, k, streams);
  } catch (error) {
    if (!(error instanceof OpenRegError) || error.code !== ErrorCode.DATA_RACE) throw error;
    raced = true;
  }
  await rt.deviceSynchronize();
  await rt.withDevice(1, () => rt.deviceSynchronize());
  for (const s of Object.values(streams)) rt.streamDestroy(s);
  rt.cachingAllocator.emptyCache(); // each program's streams had segments of their own
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

describe('reports', () => {
  it('name both accesses, their streams and call sites, and the allocation site', () => {
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

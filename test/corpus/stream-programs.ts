import { type KernelModule, type Runtime, type Stream, full, ones, zeros } from '../../dist/src/index.js';

/**
 * The stream-ordering corpus: small programs, half missing a synchronization and half
 * correctly synchronized. Each may return a check of its results, which a wrong interleaving
 * makes fail (what schedule fuzzing looks for); the sanitizer judges them without running
 * the checks.
 */
export interface Ctx {
  rt: Runtime;
  k: KernelModule;
  /** Non-blocking streams of device 0, and one of device 1. */
  a: Stream;
  b: Stream;
  c: Stream;
  d1: Stream;
}
type Check = () => Promise<void>;
export type Program = (c: Ctx) => Promise<Check | void> | Check | void;

const N = 256;

/** Writes `value` into `ptr`'s N floats (declared). */
function write(c: Ctx, ptr: number, value: number, stream: Stream): void {
  c.rt.launchKernel(c.k.getFunction('fill'), [ptr, N, value], { stream, writes: [[ptr, N * 4]] });
}

/** out = p + p (declared: reads p, writes out). */
function double(c: Ctx, p: number, out: number, stream: Stream): void {
  c.rt.launchKernel(c.k.getFunction('vectorAdd'), [p, p, out, N], { stream, reads: [[p, N * 4]], writes: [[out, N * 4]] });
}

/** N zeroed floats, ready before any stream uses them. */
function zeroed(c: Ctx): number {
  const p = c.rt.malloc(N * 4);
  c.rt.memsetSync(p, 0, N * 4);
  return p;
}

function expectFloats(rt: Runtime, ptr: number, value: number, what: string): void {
  const host = new Float32Array(N);
  rt.memcpySync(host, ptr, N * 4);
  if (host.some((v) => v !== value)) throw new Error(`${what}: expected ${value}, read ${host.find((v) => v !== value)}`);
}

function expectValues(values: readonly number[], expected: readonly number[], what: string): void {
  if (values.some((v, i) => v !== expected[i])) throw new Error(`${what}: expected ${expected.join()}, read ${values.join()}`);
}

export const RACY: Record<string, Program> = {
  'a kernel reads on another stream what a kernel wrote, no wait': (c) => {
    const [p, q] = [zeroed(c), zeroed(c)];
    write(c, p, 1, c.a);
    double(c, p, q, c.b);
    return async () => expectFloats(c.rt, q, 2, 'the consumer');
  },
  'a memset and a copy out of it on two streams': (c) => {
    const p = zeroed(c);
    const out = c.rt.mallocHost(N * 4);
    c.rt.memsetAsync(p, 7, N * 4, c.a);
    c.rt.memcpyAsync(out, p, N * 4, 'deviceToHost', c.b);
    return async () => expectValues([out[0]!, out[N * 4 - 1]!], [7, 7], 'the copy');
  },
  'two writes to overlapping bytes': (c) => {
    const p = zeroed(c);
    c.rt.memsetAsync(p, 1, 512, c.a);
    c.rt.memsetAsync(p + 256, 2, 512, c.b);
    return async () => {
      const host = new Uint8Array(768);
      c.rt.memcpySync(host, p, 768);
      expectValues([host[0]!, host[300]!, host[700]!], [1, 2, 2], 'the overlap');
    };
  },
  'a tensor op on one stream, its consumer on another': async (c) => {
    const x = ones([N], { device: 'openreg' });
    await c.rt.deviceSynchronize();
    const y = c.rt.withStream(c.a, () => x.mul(2));
    const z = c.rt.withStream(c.b, () => y.add(1));
    return async () => expectValues(Array.from((await z.data()) as Float32Array).slice(0, 1), [3], 'z');
  },
  'overlapping views of one tensor written on two streams': async (c) => {
    const z = zeros([10], { device: 'openreg' });
    await c.rt.deviceSynchronize();
    c.rt.withStream(c.a, () => z.slice(0, 0, 6).fill_(1));
    c.rt.withStream(c.b, () => z.slice(0, 4, 10).fill_(2));
    return async () => expectValues(Array.from((await z.data()) as Float32Array), [1, 1, 1, 1, 2, 2, 2, 2, 2, 2], 'z');
  },
  'freeing a tensor another stream still reads (no recordStream)': async (c) => {
    const x = ones([N], { device: 'openreg' });
    await c.rt.deviceSynchronize();
    const y = c.rt.withStream(c.b, () => x.mul(2));
    x.dispose();
    full([N], 9, { device: 'openreg' }); // reuses x's memory at once on the default stream
    return async () => expectValues(Array.from((await y.data()) as Float32Array).slice(0, 1), [2], 'y');
  },
  'a kernel on freed memory (use after free)': (c) => {
    const [p, q] = [zeroed(c), zeroed(c)];
    c.rt.free(p);
    double(c, p, q, c.a);
  },
  'an event recorded before the producer': (c) => {
    const [p, q] = [zeroed(c), zeroed(c)];
    const e = c.rt.eventCreate();
    c.rt.eventRecord(e, c.a);
    write(c, p, 1, c.a);
    c.rt.streamWaitEvent(c.b, e);
    double(c, p, q, c.b);
    return async () => expectFloats(c.rt, q, 2, 'the consumer');
  },
  'undeclared raw kernels: pointer arguments count as read-write': (c) => {
    const [p, q] = [zeroed(c), zeroed(c)];
    c.rt.launchKernel(c.k.getFunction('fill'), [p, N, 1], c.a);
    c.rt.launchKernel(c.k.getFunction('vectorAdd'), [p, p, q, N], c.b);
    return async () => expectFloats(c.rt, q, 2, 'the consumer');
  },
  'a peer copy into memory another device stream writes': async (c) => {
    const src = zeroed(c);
    c.rt.memsetSync(src, 5, N * 4);
    const dst = c.rt.withDevice(1, () => zeroed(c));
    c.rt.memcpyAsync(dst, src, N * 4, 'deviceToDevice', c.a);
    c.rt.withDevice(1, () => c.rt.memsetAsync(dst, 1, N * 4, c.d1));
    return async () => {
      const host = new Uint8Array(4);
      c.rt.memcpySync(host, dst, 4);
      expectValues([host[0]!], [1], 'the destination');
    };
  },
  'the host reads a pinned buffer a pending copy writes': (c) => {
    const p = zeroed(c);
    c.rt.memsetSync(p, 7, N * 4);
    const out = c.rt.mallocHost(N * 4);
    c.rt.memcpyAsync(out, p, N * 4, 'deviceToHost', c.a);
    c.rt.sanitizer.checkHostAccess(out); // what a careful library calls before reading
    const seen = out[0];
    return async () => expectValues([seen!], [7], 'the host read');
  },
  'a pinned buffer a copy writes on one stream and another copy reads on another': (c) => {
    const [p, q] = [zeroed(c), zeroed(c)];
    c.rt.memsetSync(p, 7, N * 4);
    const staging = c.rt.mallocHost(N * 4);
    c.rt.memcpyAsync(staging, p, N * 4, 'deviceToHost', c.a);
    c.rt.memcpyAsync(q, staging, N * 4, 'hostToDevice', c.b);
    return async () => {
      const host = new Uint8Array(4);
      c.rt.memcpySync(host, q, 4);
      expectValues([host[0]!], [7], 'the second copy');
    };
  },
  'a host synchronization of the wrong stream': async (c) => {
    const [p, q] = [zeroed(c), zeroed(c)];
    write(c, p, 1, c.a);
    await c.rt.streamSynchronize(c.b);
    double(c, p, q, c.c);
    return async () => expectFloats(c.rt, q, 2, 'the consumer');
  },
};

export const CORRECT: Record<string, Program> = {
  'an event after the producer, waited for by the consumer': (c) => {
    const [p, q] = [zeroed(c), zeroed(c)];
    write(c, p, 1, c.a);
    const e = c.rt.eventCreate();
    c.rt.eventRecord(e, c.a);
    c.rt.streamWaitEvent(c.b, e);
    double(c, p, q, c.b);
    return async () => expectFloats(c.rt, q, 2, 'the consumer');
  },
  streamWaitStream: (c) => {
    const [p, q] = [zeroed(c), zeroed(c)];
    write(c, p, 1, c.a);
    c.rt.streamWaitStream(c.b, c.a);
    double(c, p, q, c.b);
    return async () => expectFloats(c.rt, q, 2, 'the consumer');
  },
  'the legacy default stream orders blocking streams': (c) => {
    const [p, q] = [zeroed(c), zeroed(c)];
    const blocking = c.rt.streamCreate();
    write(c, p, 1, blocking);
    double(c, p, q, c.rt.defaultStream());
    return async () => {
      c.rt.streamDestroy(blocking);
      expectFloats(c.rt, q, 2, 'the consumer');
    };
  },
  'a host synchronization of the producer': async (c) => {
    const [p, q] = [zeroed(c), zeroed(c)];
    write(c, p, 1, c.a);
    await c.rt.streamSynchronize(c.a);
    double(c, p, q, c.b);
    return async () => expectFloats(c.rt, q, 2, 'the consumer');
  },
  'deviceSynchronize between': async (c) => {
    const p = zeroed(c);
    write(c, p, 1, c.a);
    await c.rt.deviceSynchronize();
    write(c, p, 3, c.b);
    return async () => expectFloats(c.rt, p, 3, 'the second write');
  },
  'recordStream before freeing a tensor another stream used': async (c) => {
    const x = ones([N], { device: 'openreg' });
    await c.rt.deviceSynchronize(); // x was made on the default stream, which c.b does not wait for
    const y = c.rt.withStream(c.b, () => x.mul(2));
    x.recordStream(c.b);
    x.dispose();
    full([N], 9, { device: 'openreg' });
    return async () => expectValues(Array.from((await y.data()) as Float32Array).slice(0, 1), [2], 'y');
  },
  'tensor ops in one stream': (c) =>
    c.rt.withStream(c.a, () => {
      const x = ones([N], { device: 'openreg' });
      const s = x.mul(2).add(1).sum();
      return async () => expectValues([(await s.item()) as number], [3 * N], 'the sum');
    }),
  'disjoint views written on two streams': async (c) => {
    const z = zeros([10], { device: 'openreg' });
    await c.rt.deviceSynchronize();
    c.rt.withStream(c.a, () => z.slice(0, 0, 4).fill_(1));
    c.rt.withStream(c.b, () => z.slice(0, 6, 10).fill_(2));
    return async () => expectValues(Array.from((await z.data()) as Float32Array), [1, 1, 1, 1, 0, 0, 2, 2, 2, 2], 'z');
  },
  'two streams only reading': async (c) => {
    const [p, q, r] = [zeroed(c), zeroed(c), zeroed(c)];
    write(c, p, 1, c.a);
    await c.rt.streamSynchronize(c.a);
    double(c, p, q, c.b);
    double(c, p, r, c.c);
    return async () => {
      expectFloats(c.rt, q, 2, 'the first reader');
      expectFloats(c.rt, r, 2, 'the second reader');
    };
  },
  'a peer copy, then an event wait on the other device': (c) => {
    const src = zeroed(c);
    c.rt.memsetSync(src, 5, N * 4);
    const dst = c.rt.withDevice(1, () => zeroed(c));
    c.rt.memcpyAsync(dst, src, N * 4, 'deviceToDevice', c.a);
    const e = c.rt.eventCreate();
    c.rt.eventRecord(e, c.a);
    c.rt.streamWaitEvent(c.d1, e);
    c.rt.withDevice(1, () => c.rt.memsetAsync(dst, 1, N * 4, c.d1));
    return async () => {
      const host = new Uint8Array(4);
      c.rt.memcpySync(host, dst, 4);
      expectValues([host[0]!], [1], 'the destination');
    };
  },
  'the host reads a pinned buffer after synchronizing the copy': async (c) => {
    const p = zeroed(c);
    c.rt.memsetSync(p, 7, N * 4);
    const out = c.rt.mallocHost(N * 4);
    c.rt.memcpyAsync(out, p, N * 4, 'deviceToHost', c.a);
    await c.rt.streamSynchronize(c.a);
    c.rt.sanitizer.checkHostAccess(out);
    const seen = out[0];
    return async () => expectValues([seen!], [7], 'the host read');
  },
  'a pinned staging buffer handed from one stream to another by an event': (c) => {
    const [p, q] = [zeroed(c), zeroed(c)];
    c.rt.memsetSync(p, 7, N * 4);
    const staging = c.rt.mallocHost(N * 4);
    c.rt.memcpyAsync(staging, p, N * 4, 'deviceToHost', c.a);
    const e = c.rt.eventCreate();
    c.rt.eventRecord(e, c.a);
    c.rt.streamWaitEvent(c.b, e);
    c.rt.memcpyAsync(q, staging, N * 4, 'hostToDevice', c.b);
    return async () => {
      const host = new Uint8Array(4);
      c.rt.memcpySync(host, q, 4);
      expectValues([host[0]!], [7], 'the second copy');
    };
  },
  'eventSynchronize on the host': async (c) => {
    const p = zeroed(c);
    write(c, p, 1, c.a);
    const e = c.rt.eventCreate();
    c.rt.eventRecord(e, c.a);
    await c.rt.eventSynchronize(e);
    write(c, p, 3, c.b);
    return async () => expectFloats(c.rt, p, 3, 'the second write');
  },
};

/** Fresh non-blocking streams for one run of a program. */
export function streamsFor(rt: Runtime, k: KernelModule): Ctx {
  return {
    rt,
    k,
    a: rt.streamCreate({ nonBlocking: true }),
    b: rt.streamCreate({ nonBlocking: true }),
    c: rt.streamCreate({ nonBlocking: true }),
    d1: rt.withDevice(1, () => rt.streamCreate({ nonBlocking: true })),
  };
}

/** Runs a program and its check; a device error counts as a failure and is cleared by a reset. */
export async function runChecked(ctx: Ctx, program: Program): Promise<void> {
  const { rt } = ctx;
  try {
    const check = await program(ctx);
    await rt.deviceSynchronize();
    await rt.withDevice(1, () => rt.deviceSynchronize());
    if (typeof check === 'function') await check();
  } finally {
    await finish(ctx);
  }
}

/** After a program: both devices idle (reset if it left a device error), its streams gone, the cache emptied. */
export async function finish(ctx: Ctx): Promise<void> {
  const { rt } = ctx;
  for (const d of [0, 1]) {
    try {
      await rt.withDevice(d, () => rt.deviceSynchronize());
    } catch {
      await rt.deviceReset(d);
    }
  }
  for (const s of [ctx.a, ctx.b, ctx.c, ctx.d1]) {
    try {
      rt.streamDestroy(s);
    } catch {
      // gone with a reset
    }
  }
  rt.cachingAllocator.emptyCache();
}

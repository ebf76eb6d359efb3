import { describe, expect, it } from 'vitest';
import * as o from '../dist/src/index.js';
import { expectCode, expectRejectCode, gate, useTensorRuntime } from './helpers.js';

const { distributed } = o;

let rt: o.Runtime;
useTensorRuntime({ deviceCount: 3 }, (r) => (rt = r));

const values = (rank: number, n: number) => Array.from({ length: n }, (_, i) => ((i * 7 + rank * 3) % 11) - 4);
const on = (rank: number, data: number[], dtype: o.DType, shape = [data.length]) => o.tensor(data, { dtype, device: `openreg:${rank}` }).reshape(...shape);

/** The reference: the reduction of every rank's values, elementwise, in doubles, then rounded by a cpu tensor of the dtype. */
async function reference(ranks: number[][], op: 'sum' | 'avg' | 'max' | 'min', dtype: o.DType): Promise<number[]> {
  const out = ranks[0]!.map((_, i) => {
    const column = ranks.map((r) => r[i]!);
    if (op === 'max') return Math.max(...column);
    if (op === 'min') return Math.min(...column);
    const sum = column.reduce((p, v) => p + v, 0);
    return op === 'sum' ? sum : sum / ranks.length;
  });
  return Array.from(await o.tensor(out, { dtype: 'float64' }).to(dtype).data(), Number);
}

describe('allReduce', () => {
  it('reduces every op and dtype across 2 and 3 devices, for sizes that do not divide by the rank count, empty ones included', async () => {
    for (const count of [2, 3]) {
      for (const dtype of ['float32', 'float64', 'float16', 'bfloat16', 'int32', 'int64', 'uint8'] as o.DType[]) {
        for (const op of ['sum', 'avg', 'max', 'min'] as const) {
          if (op === 'avg' && !dtype.startsWith('float') && dtype !== 'bfloat16') continue;
          for (const n of [7, 1, 0, 12]) {
            const data = Array.from({ length: count }, (_, r) => values(r, n).map((v) => (dtype === 'uint8' ? Math.abs(v) : v)));
            const ts = data.map((d, r) => on(r, d, dtype, n === 12 ? [3, 4] : [n]));
            distributed.allReduce(ts, { op });
            const want = await reference(data, op, dtype);
            for (const t of ts) expect(Array.from(await t.data(), Number), `${op} of ${count} × ${dtype}[${n}]`).toEqual(want);
          }
        }
      }
    }
  });

  it('includes the work enqueued before it on each device and orders the work after it, while a device is held back', async () => {
    const a = o.zeros([64], { device: 'openreg:0' });
    const b = o.zeros([64], { device: 'openreg:1' });
    // Device 1's stream is held by a host function: its earlier fill lands only when the gate opens.
    const held = gate(rt, rt.getCurrentStream(1));
    await held.started;
    b.fill_(5);
    a.fill_(1);
    distributed.allReduce([a, b]);
    const after = a.mul(2);
    expect(rt.streamQuery(rt.getCurrentStream(0))).toBe(false);
    held.open();
    expect(Array.from(await after.data(), Number)).toEqual(new Array(64).fill(12));
    expect(Array.from(await b.data(), Number)).toEqual(new Array(64).fill(6));
  });

  it('rejects the reads of every rank when one device fails, and the other devices keep working', async () => {
    const a = o.ones([16], { device: 'openreg:0' });
    const b = o.ones([16], { device: 'openreg:1' });
    await rt.deviceSynchronize();
    rt.faults.inject({ device: 1, at: 'copy', nth: 1, error: 'ERR_LAUNCH_FAILURE' });
    // The failure is the device's: the call itself throws it if the host sees it while enqueueing, as CUDA's calls do.
    try {
      distributed.allReduce([a, b]);
    } catch (error) {
      expect((error as o.OpenRegError).code).toBe('ERR_LAUNCH_FAILURE');
    }
    await expectRejectCode(b.data(), 'ERR_LAUNCH_FAILURE');
    const error = await expectRejectCode(a.data(), 'ERR_LAUNCH_FAILURE');
    expect(error.message).toMatch(/device 1/);
    expect(Array.from(await o.ones([2], { device: 'openreg:2' }).add(1).data(), Number)).toEqual([2, 2]);
    await rt.deviceReset(1);
  });
});

describe('the other collectives', () => {
  it('broadcast, allGather, reduceScatter and barrier move what PyTorch says, in order', async () => {
    const ts = [0, 1, 2].map((r) => on(r, values(r, 5), 'float32'));
    const work = distributed.broadcast(ts, { src: 2 });
    await work.synchronize();
    expect(work.isCompleted()).toBe(true);
    for (const t of ts) expect(Array.from(await t.data(), Number)).toEqual(values(2, 5));

    const inputs = [0, 1, 2].map((r) => on(r, values(r, 4), 'int32', [2, 2]));
    const outputs = [0, 1, 2].map((r) => [0, 1, 2].map(() => o.zeros([2, 2], { dtype: 'int32', device: `openreg:${r}` })));
    distributed.allGather(outputs, inputs);
    for (const list of outputs) for (const [k, t] of list.entries()) expect(Array.from(await t.data(), Number)).toEqual(values(k, 4));

    const scattered = [0, 1, 2].map((r) => o.zeros([3], { device: `openreg:${r}` }));
    const parts = [0, 1, 2].map((k) => [0, 1, 2].map((r) => on(k, values(k * 3 + r, 3), 'float32')));
    distributed.reduceScatter(scattered, parts, { op: 'max' });
    for (const [r, t] of scattered.entries()) expect(Array.from(await t.data(), Number)).toEqual(await reference([0, 1, 2].map((k) => values(k * 3 + r, 3)), 'max', 'float32'));

    await distributed.barrier().synchronize();
  });

  it('orders side streams as the sanitizer sees it: reading a result on another stream needs Work.wait()', async () => {
    rt.sanitizer.enable();
    try {
      const [s0, s1] = [0, 1].map((d) => rt.withDevice(d, () => rt.streamCreate({ nonBlocking: true })));
      const a = o.ones([256], { device: 'openreg:0' });
      const b = o.ones([256], { device: 'openreg:1' });
      await rt.deviceSynchronize();
      await rt.withDevice(1, () => rt.deviceSynchronize());
      distributed.allReduce([a, b], { streams: [s0!, s1!] });
      expectCode(() => a.mul(2), 'ERR_DATA_RACE');
      const work = distributed.allReduce([a, b], { streams: [s0!, s1!] });
      work.wait();
      expect(Array.from(await a.mul(1).data(), Number)).toEqual(new Array(256).fill(4));
    } finally {
      rt.sanitizer.disable();
    }
  });

  it("shows each collective to hooks once per rank and to the profiler as one span per rank holding that rank's work, with flows between the ranks", async () => {
    const seen: o.HookEvents['collective'][] = [];
    const off = [0, 1, 2].map((d) => rt.hooks.on(d, 'collective', (e) => seen.push(e)));
    const ts = [0, 1, 2].map((r) => on(r, values(r, 300), 'float32'));
    const { mkdtempSync, readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    rt.profiler.start();
    try {
      await distributed.allReduce(ts).synchronize();
      await distributed.barrier([0, 2]).synchronize();
    } finally {
      rt.profiler.stop();
      for (const f of off) f();
    }
    expect(seen.map((e) => [e.call, e.device, e.rank, e.ranks, e.bytes])).toEqual([
      ['allReduce', 0, 0, 3, 1200],
      ['allReduce', 1, 1, 3, 1200],
      ['allReduce', 2, 2, 3, 1200],
      ['barrier', 0, 0, 2, 0],
      ['barrier', 2, 1, 2, 0],
    ]);
    const records = rt.profiler.records;
    const spans = records.filter((r) => r.kind === 'collective');
    // The barrier found every stream idle: its waits enqueued nothing, so it has no device span.
    expect(spans.map((r) => [r.name, r.device]).sort()).toEqual([['allReduce', 0], ['allReduce', 1], ['allReduce', 2]]);
    for (const span of spans.filter((r) => r.name === 'allReduce')) {
      // Each rank reduces its chunk (copies and kernels on its own stream), all inside its span.
      const work = records.filter((r) => r.thread === 'device' && r.device === span.device && r.stream === span.stream && (r.kind === 'memcpy' || r.kind === 'kernel'));
      const inside = work.filter((r) => r.start >= span.start && r.end <= span.end);
      expect(inside.filter((r) => r.kind === 'memcpy').length).toBeGreaterThanOrEqual(4);
      expect(inside.some((r) => r.kind === 'kernel')).toBe(true);
    }
    const path = join(mkdtempSync(join(tmpdir(), 'openreg-collective-')), 'trace.json');
    await rt.profiler.exportChromeTrace(path);
    const trace = JSON.parse(readFileSync(path, 'utf8')) as { traceEvents: { name: string; cat?: string; ph: string; pid: number }[] };
    const starts = trace.traceEvents.filter((e) => e.cat === 'flow' && e.name === 'collective' && e.ph === 's');
    // Every ordered pair of ranks.
    expect(starts.length).toBe(6);
    expect(trace.traceEvents.filter((e) => e.cat === 'collective' && e.ph === 'X').map((e) => e.pid).sort()).toEqual([0, 1, 2]);
  });

  it('refuses bad arguments with a coded error naming the call', () => {
    const a = o.zeros([2], { device: 'openreg:0' });
    const b = o.zeros([2], { device: 'openreg:1' });
    expect(expectCode(() => distributed.allReduce([a, o.zeros([2], { device: 'openreg:0' })]), 'ERR_INVALID_VALUE').message).toMatch(/^allReduce: each rank needs its own device, got devices 0, 0/);
    expect(expectCode(() => distributed.allReduce([a, o.zeros([3], { device: 'openreg:1' })]), 'ERR_INVALID_VALUE').message).toMatch(/share one shape and dtype/);
    expect(expectCode(() => distributed.allReduce([a, o.zeros([2])]), 'ERR_INVALID_VALUE').message).toMatch(/run between openreg devices, got a tensor on cpu/);
    expect(expectCode(() => distributed.allReduce([o.zeros([2, 2], { device: 'openreg:0' }).t(), o.zeros([2, 2], { device: 'openreg:1' })]), 'ERR_INVALID_VALUE').message).toMatch(/must be contiguous/);
    expect(expectCode(() => distributed.allReduce([a.int(), b.int()], { op: 'avg' }), 'ERR_INVALID_VALUE').message).toMatch(/avg needs a floating dtype, got int32/);
    expect(expectCode(() => distributed.allReduce([a, b], { op: 'prod' as never }), 'ERR_INVALID_VALUE').message).toMatch(/options.op must be one of sum, avg, max, min/);
    expect(expectCode(() => distributed.allReduce([a, b], { streams: [rt.getCurrentStream(1), rt.getCurrentStream(0)] }), 'ERR_INVALID_VALUE').message).toMatch(/options.streams\[0\] is on device 1/);
    expect(expectCode(() => distributed.broadcast([a, b], { src: 2 }), 'ERR_INVALID_VALUE').message).toMatch(/^broadcast: options.src must be an integer in \[0, 1\]/);
    expect(expectCode(() => distributed.barrier([0, 0]), 'ERR_INVALID_VALUE').message).toMatch(/a device appears twice/);
    expect(expectCode(() => distributed.allReduce([]), 'ERR_INVALID_VALUE').message).toMatch(/non-empty array of tensors/);
    expect(expectCode(() => distributed.allGather([[a, a], [b, b]], [a, b], { op: 'sum' } as never), 'ERR_INVALID_VALUE').message).toMatch(/^allGather: options has no option "op"/);
  });
});

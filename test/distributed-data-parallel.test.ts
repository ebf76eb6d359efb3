import { describe, expect, it } from 'vitest';
import * as o from '../dist/src/index.js';
import { expectCode, useTensorRuntime } from './helpers.js';

const { nn, optim } = o;

let rt: o.Runtime;
useTensorRuntime({ deviceCount: 2, sanitize: true }, (r) => (rt = r));

class Net extends nn.Module {
  fc1 = new nn.Linear(6, 16);
  norm = new nn.BatchNorm1d(16);
  fc2 = new nn.Linear(16, 3);
  forward(x: o.Tensor): o.Tensor {
    return this.fc2.call(this.norm.call(this.fc1.call(x)).relu());
  }
}

const F32 = { dtype: 'float32' } as const;

async function maxDifference(a: o.Tensor, b: o.Tensor): Promise<number> {
  const [x, y] = [await a.data(), await b.data()];
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(Number(x[i]) - Number(y[i])));
  return m;
}

describe('DistributedDataParallel', () => {
  it('trains two replicas on halves of a batch as one model trains on the whole batch, with no race the sanitizer can see', async () => {
    o.manualSeed(3);
    const single = new Net().to('openreg:0');
    const replicas = [0, 1].map((d) => new Net().to(`openreg:${d}`));
    // A tiny bucket cap: several buckets, each all-reduced while backward goes on.
    const ddp = new nn.DistributedDataParallel(replicas, { bucketCapMb: 0.0002, broadcastBuffers: false });
    expect(ddp.bucketCount).toBeGreaterThan(2);
    single.loadStateDict(replicas[0]!.stateDict());
    const x = o.randn([8, 6], { device: 'openreg:0' });
    const y = o.tensor([0, 1, 2, 0, 1, 2, 0, 1], { dtype: 'int64', device: 'openreg:0' });
    const halves = [0, 1].map((r) => [x.slice(0, 4 * r, 4 * r + 4).to(`openreg:${r}`), y.slice(0, 4 * r, 4 * r + 4).to(`openreg:${r}`)] as const);
    const optSingle = new optim.SGD(single.parameters(), { lr: 0.1, momentum: 0.9 });
    const optDdp = new optim.SGD(ddp.parameters(), { lr: 0.1, momentum: 0.9 });
    for (let step = 0; step < 4; step++) {
      optSingle.zeroGrad();
      // Batch norm sees half the batch per replica: compare with it in eval mode on both sides.
      single.eval();
      ddp.eval();
      const l = nn.functional.crossEntropy(single.call(x), y);
      l.backward();
      optSingle.step();
      optDdp.zeroGrad();
      const outs = ddp.call([halves[0]![0]], [halves[1]![0]]) as o.Tensor[];
      const losses = outs.map((out, r) => nn.functional.crossEntropy(out, halves[r]![1]));
      for (const loss of losses) loss.backward();
      optDdp.step();
      const mean = ((await losses[0]!.item<number>()) + (await losses[1]!.item<number>())) / 2;
      expect(Math.abs(mean - (await l.item<number>()))).toBeLessThan(1e-5);
    }
    for (const [name, p] of Object.entries(single.stateDict())) {
      const [r0, r1] = replicas.map((m) => m.stateDict()[name]!);
      expect(await maxDifference(p, r0!), name).toBeLessThan(1e-5);
      expect(await maxDifference(r0!, r1!), name).toBe(0);
    }
  });

  it('shows each bucket to the profiler as an all-reduce span per device on its side stream, and how much of them backward hid', async () => {
    const replicas = [0, 1].map((d) => new Net().to(`openreg:${d}`));
    const ddp = new nn.DistributedDataParallel(replicas, { bucketCapMb: 0.0002, broadcastBuffers: false });
    const xs = [0, 1].map((d) => o.randn([4, 6], { device: `openreg:${d}` }));
    rt.profiler.start();
    try {
      const outs = ddp.call([xs[0]!], [xs[1]!]) as o.Tensor[];
      for (const out of outs) out.sum().backward();
      await Promise.all([0, 1].map((d) => rt.withDevice(d, () => rt.deviceSynchronize())));
    } finally {
      rt.profiler.stop();
    }
    const spans = rt.profiler.records.filter((r) => r.kind === 'collective');
    for (const d of [0, 1]) {
      const mine = spans.filter((r) => r.device === d);
      expect(mine.length).toBe(ddp.bucketCount);
      expect(mine.every((r) => r.name === 'allReduce' && r.stream === ddp.sideStreams[d]!.id)).toBe(true);
    }
    const overlap = rt.profiler.communicationOverlap();
    expect(overlap.communicationMs).toBeGreaterThan(0);
    expect(overlap.fraction).toBeGreaterThanOrEqual(0);
    expect(overlap.fraction).toBeLessThanOrEqual(1);
    expect(overlap.hiddenMs).toBeCloseTo(overlap.fraction * overlap.communicationMs, 9);
  });

  it('accumulates gradients locally under noSync and averages the total on the next synced backward', async () => {
    const replicas = [0, 1].map((d) => new nn.Linear(3, 1, { bias: false, device: `openreg:${d}` }));
    const ddp = new nn.DistributedDataParallel(replicas);
    const x = [0, 1].map((r) => o.tensor([[1 + r, 2, 3]], { ...F32, device: `openreg:${r}` }));
    ddp.noSync(() => (ddp.call([x[0]], [x[1]]) as o.Tensor[]).forEach((out) => out.sum().backward()));
    expect(await replicas[0]!.weight.grad!.toArray()).toEqual([[1, 2, 3]]);
    expect(await replicas[1]!.weight.grad!.toArray()).toEqual([[2, 2, 3]]);
    (ddp.call([x[0]], [x[1]]) as o.Tensor[]).forEach((out) => out.sum().backward());
    // Each replica's accumulated gradient (2·x_r), averaged: x_0 + x_1.
    for (const m of replicas) expect(await m.weight.grad!.toArray()).toEqual([[3, 4, 6]]);
  });

  it('starts every replica from rank 0\'s parameters and refuses what PyTorch refuses', async () => {
    const replicas = [0, 1].map((d) => new nn.Linear(2, 2, { device: `openreg:${d}` }));
    new nn.DistributedDataParallel(replicas);
    expect(await replicas[1]!.weight.toArray()).toEqual(await replicas[0]!.weight.toArray());
    expect(expectCode(() => new nn.DistributedDataParallel([new nn.Linear(2, 2, { device: 'openreg:0' }), new nn.Linear(2, 3, { device: 'openreg:1' })]), 'ERR_INVALID_VALUE').message).toMatch(/replica 1 does not have replica 0's parameters/);
    expect(expectCode(() => new nn.DistributedDataParallel([new nn.Linear(2, 2, { device: 'openreg:0' }), new nn.Linear(2, 2, { device: 'openreg:0' })]), 'ERR_INVALID_VALUE').message).toMatch(/each replica needs its own device/);
    // A parameter that gets no gradient leaves its bucket waiting: the next forward says so.
    class Partial extends nn.Module {
      used = new nn.Linear(2, 2);
      unused = new nn.Linear(2, 2);
      forward(x: o.Tensor): o.Tensor {
        return this.used.call(x);
      }
    }
    const ddp = new nn.DistributedDataParallel([0, 1].map((d) => new Partial().to(`openreg:${d}`)));
    const xs = [0, 1].map((d) => [o.ones([1, 2], { device: `openreg:${d}` })]);
    (ddp.call(...xs) as o.Tensor[]).forEach((out) => out.sum().backward());
    expect(expectCode(() => ddp.call(...xs), 'ERR_INVALID_VALUE').message).toMatch(/expected to have finished reduction in the prior iteration/);
    await rt.deviceSynchronize();
  });

  it("refuses a rank's second backward in one iteration, before the other rank's first", async () => {
    const replicas = [0, 1].map((d) => new nn.Linear(2, 2, { device: `openreg:${d}` }));
    const ddp = new nn.DistributedDataParallel(replicas);
    const outs = ddp.call([o.ones([1, 2], { device: 'openreg:0' })], [o.ones([1, 2], { device: 'openreg:1' })]) as o.Tensor[];
    const loss = outs[0]!.sum();
    loss.backward(undefined, { retainGraph: true });
    expect(expectCode(() => loss.backward(), 'ERR_INVALID_VALUE').message).toMatch(/received a second gradient in one DistributedDataParallel iteration/);
    await rt.deviceSynchronize();
  });
});

import type { BenchContext } from '../context.js';
import { type Row, type SuiteOptions, type TaskSpec, compare, measure } from '../harness.js';
import { type Runtime, type Tensor, distributed, nn, optim, rand } from '../../src/index.js';
import { BATCH, Cnn, dataset } from '../../examples/cnn/model.js';

const SIZES = [4 << 10, 1 << 20, 16 << 20, 64 << 20];
const CNN_STEP = `demo CNN step (conv → relu → pool → linear), batch ${BATCH}`;
const OVERLAP_STEPS = 8;

const label = (bytes: number) => (bytes >= 1 << 20 ? `${bytes >> 20} MiB` : `${bytes >> 10} KiB`);

/**
 * Training across devices: all-reduce of float32 gradients between the 2 devices (NCCL's
 * algorithmic bandwidth: bytes reduced per second, read back by a synchronize) against
 * TypedArray.set of the same bytes; a training step of the demo's CNN on 1 device against
 * DistributedDataParallel on 2 (each device half the batch); and the share of DDP's all-reduce
 * time that backward hid, from the profiler.
 */
export async function training(ctx: BenchContext, options: SuiteOptions): Promise<Row[]> {
  const { rt } = ctx;
  const disposers: (() => void)[] = [];
  const keep = <T extends Tensor>(t: T): T => {
    disposers.push(() => t.dispose());
    return t;
  };
  const tasks: TaskSpec[] = [];
  for (const bytes of SIZES) {
    const n = bytes / 4;
    const pair = [0, 1].map((d) => keep(rand([n], { device: `openreg:${d}` })));
    const a = new Float32Array(new SharedArrayBuffer(bytes)).fill(1);
    const b = new Float32Array(new SharedArrayBuffer(bytes));
    tasks.push(
      { name: `allReduce ${label(bytes)} float32, 2 devices`, subject: 'openreg', bytes, fn: () => distributed.allReduce(pair).synchronize() },
      { name: `TypedArray.set ${label(bytes)} (SAB→SAB)`, subject: 'reference', bytes, fn: () => b.set(a) },
    );
  }
  // The demo's CNN on its synthetic data: the whole batch on one device, half of it on each of two under DDP.
  const [{ x, y }] = dataset(1).map((b) => ({ x: keep(b.x.to('openreg:0')), y: keep(b.y.to('openreg:0')) }));
  const single = new Cnn().to('openreg:0');
  const optSingle = new optim.SGD(single.parameters(), { lr: 0.01, momentum: 0.9 });
  const replicas = [0, 1].map((d) => new Cnn().to(`openreg:${d}`));
  // The demo's buckets: a layer's gradients are all-reduced once both devices have them.
  const ddp = new nn.DistributedDataParallel(replicas, { bucketCapMb: 0.004 });
  const optDdp = new optim.SGD(ddp.parameters(), { lr: 0.01, momentum: 0.9 });
  const halves = [0, 1].map((d) => [keep(x!.slice(0, d * (BATCH / 2), (d + 1) * (BATCH / 2)).to(`openreg:${d}`)), keep(y!.slice(0, d * (BATCH / 2), (d + 1) * (BATCH / 2)).to(`openreg:${d}`))] as const);
  const ddpStep = async (): Promise<void> => {
    optDdp.zeroGrad();
    const outputs: Tensor[] = ddp.call([halves[0]![0]], [halves[1]![0]]);
    const losses = outputs.map((out, r) => nn.functional.crossEntropy(out, halves[r]![1]));
    for (const l of losses) l.backward();
    optDdp.step();
    await Promise.all(losses.map((l) => l.item()));
  };
  tasks.push(
    {
      name: `${CNN_STEP}: 1 device`,
      subject: 'openreg',
      ops: BATCH,
      fn: async () => {
        optSingle.zeroGrad();
        const loss = nn.functional.crossEntropy(single.call(x!), y!);
        loss.backward();
        optSingle.step();
        await loss.item();
      },
    },
    { name: `${CNN_STEP}: DistributedDataParallel, 2 devices`, subject: 'openreg', ops: BATCH, fn: ddpStep },
  );
  await rt.deviceSynchronize();
  const rows = await measure('training', tasks, options);
  for (const bytes of SIZES) compare(rows, `allReduce ${label(bytes)} float32, 2 devices`, `TypedArray.set ${label(bytes)} (SAB→SAB)`, 'bandwidth');
  compare(rows, rows.at(-1)!.name, rows.at(-2)!.name, 'latency');
  rows.push(await overlapRow(rt, ddpStep));
  for (const d of disposers) d();
  return rows;
}

/**
 * DDP steps under the profiler: the collectives' device time hidden behind computation, as a
 * row whose ratio is the fraction (its times are the totals per step, not latencies).
 */
async function overlapRow(rt: Runtime, step: () => Promise<void>): Promise<Row> {
  let communicationMs = 0;
  let hiddenMs = 0;
  for (let i = 0; i < OVERLAP_STEPS; i++) {
    rt.profiler.start();
    await step();
    await Promise.all([0, 1].map((d) => rt.withDevice(d, () => rt.deviceSynchronize())));
    rt.profiler.stop();
    const o = rt.profiler.communicationOverlap();
    communicationMs += o.communicationMs;
    hiddenMs += o.hiddenMs;
  }
  const perStepUs = (ms: number) => (ms / OVERLAP_STEPS) * 1000;
  return {
    suite: 'training',
    name: `${CNN_STEP}: all-reduce time hidden behind backward`,
    subject: 'openreg',
    p50Us: perStepUs(hiddenMs),
    p99Us: perStepUs(hiddenMs),
    meanUs: perStepUs(hiddenMs),
    samples: OVERLAP_STEPS,
    opsPerSecond: 0,
    ratio: {
      vs: 'all-reduce device time',
      value: communicationMs === 0 ? 0 : hiddenMs / communicationMs,
      meaning: `× of the ${perStepUs(communicationMs).toFixed(0)} µs of all-reduce device time per step ran while the other device computed`,
    },
  };
}

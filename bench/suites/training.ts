import type { BenchContext } from '../context.js';
import { type Row, type SuiteOptions, type TaskSpec, compare, measure } from '../harness.js';
import { type Tensor, distributed, nn, optim, rand, tensor } from '../../src/index.js';

const SIZES = [4 << 10, 1 << 20, 16 << 20, 64 << 20];
const MLP = { batch: 256, inputs: 784, hidden: 256, classes: 10 };

const label = (bytes: number) => (bytes >= 1 << 20 ? `${bytes >> 20} MiB` : `${bytes >> 10} KiB`);

/**
 * Training across devices: all-reduce of float32 gradients between the 2 devices (NCCL's
 * algorithmic bandwidth: bytes reduced per second, read back by a synchronize) against
 * TypedArray.set of the same bytes; and a step of the tensor-ops MLP built from nn and optim
 * on 1 device against DistributedDataParallel on 2 (each device half the batch).
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
  const { batch, inputs, hidden, classes } = MLP;
  const model = (device: string) => new nn.Sequential(new nn.Linear(inputs, hidden), new nn.ReLU(), new nn.Linear(hidden, classes)).to(device);
  const labels = (device: string, rows: number) => tensor(Array.from({ length: rows }, (_, i) => i % classes), { dtype: 'int64', device });
  const single = model('openreg:0');
  const optSingle = new optim.SGD(single.parameters(), { lr: 0.05 });
  const x = keep(rand([batch, inputs], { device: 'openreg:0' }));
  const y = keep(labels('openreg:0', batch));
  const replicas = [0, 1].map((d) => model(`openreg:${d}`));
  const ddp = new nn.DistributedDataParallel(replicas);
  const optDdp = new optim.SGD(ddp.parameters(), { lr: 0.05 });
  const halves = [0, 1].map((d) => [keep(rand([batch / 2, inputs], { device: `openreg:${d}` })), keep(labels(`openreg:${d}`, batch / 2))] as const);
  tasks.push(
    {
      name: `MLP step ${inputs}→${hidden}→${classes}, batch ${batch}, nn + optim: 1 device`,
      subject: 'openreg',
      ops: batch,
      fn: async () => {
        optSingle.zeroGrad();
        const loss = nn.functional.crossEntropy(single.call(x), y);
        loss.backward();
        optSingle.step();
        await loss.item();
      },
    },
    {
      name: `MLP step ${inputs}→${hidden}→${classes}, batch ${batch}, DistributedDataParallel: 2 devices`,
      subject: 'openreg',
      ops: batch,
      fn: async () => {
        optDdp.zeroGrad();
        const outputs: Tensor[] = ddp.call([halves[0]![0]], [halves[1]![0]]);
        const losses = outputs.map((out, r) => nn.functional.crossEntropy(out, halves[r]![1]));
        for (const l of losses) l.backward();
        optDdp.step();
        await Promise.all(losses.map((l) => l.item()));
      },
    },
  );
  await rt.deviceSynchronize();
  const rows = await measure('training', tasks, options);
  for (const bytes of SIZES) compare(rows, `allReduce ${label(bytes)} float32, 2 devices`, `TypedArray.set ${label(bytes)} (SAB→SAB)`, 'bandwidth');
  compare(rows, rows.at(-1)!.name, rows.at(-2)!.name, 'latency');
  for (const d of disposers) d();
  return rows;
}

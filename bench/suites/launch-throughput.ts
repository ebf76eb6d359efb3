import type { BenchContext } from '../context.js';
import { echoes } from '../context.js';
import { type Row, type SuiteOptions, compare, measure } from '../harness.js';

/** Empty commands per iteration; the message-based baselines use fewer (they are ~100× slower). */
const BATCH = 10_000;
const MESSAGE_BATCH = 500;

export async function launchThroughput(ctx: BenchContext, options: SuiteOptions): Promise<Row[]> {
  const { rt, kernels, ring } = ctx;
  const { empty } = kernels;
  const one = rt.streamCreate();
  const four = [0, 1, 2, 3].map(() => rt.streamCreate());
  const perDevice = [0, 1].map((d) => rt.withDevice(d, () => rt.streamCreate()));
  const rows = await measure(
    'launch throughput',
    [
      {
        name: 'openreg: 1 stream',
        subject: 'openreg',
        ops: BATCH,
        fn: () => {
          for (let i = 0; i < BATCH; i++) rt.launchKernel(empty, [], one);
          rt.streamSynchronizeSync(one);
        },
      },
      {
        name: 'openreg: 4 streams, 1 device',
        subject: 'openreg',
        ops: BATCH,
        fn: () => {
          for (let i = 0; i < BATCH; i++) rt.launchKernel(empty, [], four[i & 3]);
          for (const s of four) rt.streamSynchronizeSync(s);
        },
      },
      {
        name: 'openreg: 2 devices, 1 stream each',
        subject: 'openreg',
        ops: BATCH,
        fn: () => {
          for (let i = 0; i < BATCH; i++) rt.launchKernel(empty, [], perDevice[i & 1]);
          for (const s of perDevice) rt.streamSynchronizeSync(s);
        },
      },
      {
        name: 'bare Atomics ring',
        subject: 'reference',
        ops: BATCH,
        fn: () => {
          let last = 0;
          for (let i = 0; i < BATCH; i++) last = ring.push(1);
          ring.waitFor(last);
        },
      },
      { name: 'postMessage (each echoed)', subject: 'baseline', ops: MESSAGE_BATCH, fn: () => echoes(ctx.echo, MESSAGE_BATCH) },
      {
        name: 'comlink calls',
        subject: 'baseline',
        ops: MESSAGE_BATCH,
        fn: () => Promise.all(Array.from({ length: MESSAGE_BATCH }, () => ctx.comlink.noop())),
      },
      {
        name: 'piscina.run()',
        subject: 'baseline',
        ops: MESSAGE_BATCH,
        fn: () => Promise.all(Array.from({ length: MESSAGE_BATCH }, () => ctx.piscina1.run(0))),
      },
    ],
    options,
  );
  for (const r of rows) if (r.name !== 'bare Atomics ring') compare(rows, r.name, 'bare Atomics ring', 'rate');
  for (const s of [one, ...four, ...perDevice]) rt.streamDestroy(s);
  return rows;
}

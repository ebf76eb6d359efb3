import type { BenchContext } from '../context.js';
import { echoes } from '../context.js';
import { type Row, type SuiteOptions, compare, measure } from '../harness.js';

export async function syncLatency(ctx: BenchContext, options: SuiteOptions): Promise<Row[]> {
  const { rt, kernels, ring } = ctx;
  const s = rt.streamCreate();
  const timed = rt.eventCreate();
  const untimed = rt.eventCreate({ disableTiming: true });
  rt.eventRecord(untimed, s);
  rt.streamSynchronizeSync(s);
  const rows = await measure(
    'synchronization latency',
    [
      {
        name: 'openreg: launch + streamSynchronizeSync',
        subject: 'openreg',
        fn: () => {
          rt.launchKernel(kernels.empty, [], s);
          rt.streamSynchronizeSync(s);
        },
      },
      {
        name: 'openreg: launch + await streamSynchronize',
        subject: 'openreg',
        fn: async () => {
          rt.launchKernel(kernels.empty, [], s);
          await rt.streamSynchronize(s);
        },
      },
      {
        name: 'openreg: eventRecord + eventQuery',
        subject: 'openreg',
        fn: () => {
          rt.eventRecord(timed, s);
          rt.eventQuery(timed);
        },
      },
      { name: 'openreg: eventQuery', subject: 'openreg', fn: () => rt.eventQuery(untimed) },
      {
        name: 'bare Atomics ring: push + wait',
        subject: 'reference',
        fn: () => ring.waitFor(ring.push(1)),
      },
      { name: 'postMessage round trip', subject: 'baseline', fn: () => echoes(ctx.echo, 1) },
      { name: 'comlink call', subject: 'baseline', fn: () => ctx.comlink.noop() },
      { name: 'piscina.run()', subject: 'baseline', fn: () => ctx.piscina1.run(0) },
    ],
    options,
  );
  rt.streamSynchronizeSync(s);
  for (const r of rows) if (r.name !== 'piscina.run()') compare(rows, r.name, 'piscina.run()', 'latency');
  rt.streamDestroy(s);
  rt.eventDestroy(timed);
  rt.eventDestroy(untimed);
  return rows;
}

import type { BenchContext } from '../context.js';
import { burn } from '../kernels.js';
import { type Row, type SuiteOptions, compare, measure } from '../harness.js';

/** 16 kernels of ~2 ms each per iteration: compute-bound, no memory traffic. */
const KERNELS = 16;
const ITERATIONS = 2_000_000;

export async function multiDeviceScaling(ctx: BenchContext, options: SuiteOptions): Promise<Row[]> {
  const { rt, kernels } = ctx;
  const streams = [0, 1].map((d) => rt.withDevice(d, () => rt.streamCreate()));
  const out = [0, 1].map((d) => rt.withDevice(d, () => rt.malloc(8)));
  const launch = (device: number, n: number) => {
    for (let i = 0; i < n; i++) rt.launchKernel(kernels.burn, [ITERATIONS, out[device]!], streams[device]);
  };
  const rows = await measure(
    'multi-device scaling',
    [
      {
        name: 'openreg: 1 device',
        subject: 'openreg',
        ops: KERNELS,
        fn: () => {
          launch(0, KERNELS);
          return rt.streamSynchronize(streams[0]!);
        },
      },
      {
        name: 'openreg: 2 devices',
        subject: 'openreg',
        ops: KERNELS,
        fn: () => {
          launch(0, KERNELS / 2);
          launch(1, KERNELS / 2);
          return Promise.all(streams.map((s) => rt.streamSynchronize(s)));
        },
      },
      {
        name: 'main thread, no workers',
        subject: 'reference',
        ops: KERNELS,
        fn: () => {
          for (let i = 0; i < KERNELS; i++) burn(ITERATIONS);
        },
      },
      {
        name: 'piscina.run(), 2 threads',
        subject: 'baseline',
        ops: KERNELS,
        fn: () => Promise.all(Array.from({ length: KERNELS }, () => ctx.piscina2.run(ITERATIONS))),
      },
    ],
    { ...options, time: Math.max(options.time, 1500) },
  );
  for (const name of ['openreg: 2 devices', 'main thread, no workers', 'piscina.run(), 2 threads']) compare(rows, name, 'openreg: 1 device', 'rate');
  for (const s of streams) rt.streamDestroy(s);
  for (const p of out) rt.free(p);
  return rows;
}

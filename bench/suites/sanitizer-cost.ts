import type { BenchContext } from '../context.js';
import { type Row, type SuiteOptions, compare, measure } from '../harness.js';

const BATCH = 2_000;

/**
 * What the stream sanitizer costs per launch: the same declared launches (each writing one
 * buffer) with the sanitizer off, on (the default), and on with a stack captured per access.
 */
export async function sanitizerCost(ctx: BenchContext, options: SuiteOptions): Promise<Row[]> {
  const { rt, kernels } = ctx;
  const stream = rt.streamCreate();
  const buffer = rt.malloc(4096);
  const declared = { stream, writes: [[buffer, 4096]] as [number, number][] };
  const batch = () => {
    for (let i = 0; i < BATCH; i++) rt.launchKernel(kernels.empty, [], declared);
    rt.streamSynchronizeSync(stream);
  };
  const withSanitizer = (stacks: boolean | undefined) => () => {
    if (stacks === undefined) rt.sanitizer.disable();
    else rt.sanitizer.enable({ mode: 'collect', stacks });
    batch();
  };
  const rows = await measure(
    'sanitizer cost',
    [
      { name: 'declared launch, sanitizer off', subject: 'openreg', ops: BATCH, fn: withSanitizer(undefined) },
      { name: 'declared launch, sanitizer on', subject: 'openreg', ops: BATCH, fn: withSanitizer(false) },
      { name: 'declared launch, sanitizer on, stacks: true', subject: 'openreg', ops: BATCH, fn: withSanitizer(true) },
    ],
    options,
  );
  rt.sanitizer.disable();
  rt.free(buffer);
  rt.streamDestroy(stream);
  compare(rows, 'declared launch, sanitizer on', 'declared launch, sanitizer off', 'latency');
  compare(rows, 'declared launch, sanitizer on, stacks: true', 'declared launch, sanitizer off', 'latency');
  return rows;
}

import type { BenchContext } from '../context.js';
import { type Row, type SuiteOptions, compare, measure } from '../harness.js';

export async function allocation(ctx: BenchContext, options: SuiteOptions): Promise<Row[]> {
  const { rt } = ctx;
  // Some live allocations and streams around, as in a real workload.
  const live = Array.from({ length: 64 }, (_, i) => rt.malloc(4096 * (i + 1)));
  const rows = await measure(
    'allocation',
    [
      { name: 'openreg: malloc + free, 4 KiB', subject: 'openreg', fn: () => rt.free(rt.malloc(4096)) },
      { name: 'openreg: malloc + free, 1 MiB', subject: 'openreg', fn: () => rt.free(rt.malloc(1 << 20)) },
      { name: 'openreg: mallocHost + freeHost, 4 KiB', subject: 'openreg', fn: () => rt.freeHost(rt.mallocHost(4096)) },
      { name: 'new SharedArrayBuffer(4 KiB)', subject: 'baseline', fn: () => new SharedArrayBuffer(4096) },
    ],
    options,
  );
  for (const r of rows) if (r.subject === 'openreg') compare(rows, r.name, 'new SharedArrayBuffer(4 KiB)', 'rate');
  for (const p of live) rt.free(p);
  return rows;
}

import type { BenchContext } from '../context.js';
import { type Row, type SuiteOptions, compare, measure } from '../harness.js';
import { type Tensor, tensor } from '../../src/index.js';

const N = 1 << 20; // 1M float32: 4 MiB

/**
 * The host data path as a user meets it: a tensor from a 1M typed array and from a 1M
 * nested array, and its values read back, against a raw memcpy of the same bytes (the
 * floor: one copy). Uploads include the device copy's completion, as a read of them would.
 */
export async function dataPath(ctx: BenchContext, options: SuiteOptions): Promise<Row[]> {
  const { rt } = ctx;
  const values = new Float32Array(N).map((_, i) => i * 0.5);
  const nested = Array.from(values);
  const ptr = rt.malloc(N * 4);
  const back = new Float32Array(N);
  const onDevice = tensor(values, { device: 'openreg:0' });
  await onDevice.ready();
  const upload = (make: () => Tensor) => async () => {
    const t = make();
    await t.ready();
    t.dispose();
  };
  const rows = await measure(
    'data path',
    [
      { name: 'upload 1M float32: tensor(Float32Array)', subject: 'openreg', bytes: N * 4, fn: upload(() => tensor(values, { device: 'openreg:0' })) },
      { name: 'upload 1M float32: tensor(nested array)', subject: 'openreg', bytes: N * 4, fn: upload(() => tensor(nested, { device: 'openreg:0', dtype: 'float32' })) },
      { name: 'upload 4 MiB: raw memcpy', subject: 'reference', bytes: N * 4, fn: () => rt.memcpy(ptr, values, N * 4) },
      { name: 'read-back 4 MiB: data({ into })', subject: 'openreg', bytes: N * 4, fn: () => onDevice.data({ into: back }) },
      { name: 'read-back 4 MiB: data()', subject: 'openreg', bytes: N * 4, fn: () => onDevice.data() },
      { name: 'read-back 4 MiB: raw memcpy', subject: 'reference', bytes: N * 4, fn: () => rt.memcpy(back, ptr, N * 4) },
    ],
    options,
  );
  for (const name of ['upload 1M float32: tensor(Float32Array)', 'upload 1M float32: tensor(nested array)']) compare(rows, name, 'upload 4 MiB: raw memcpy', 'latency');
  for (const name of ['read-back 4 MiB: data({ into })', 'read-back 4 MiB: data()']) compare(rows, name, 'read-back 4 MiB: raw memcpy', 'latency');
  onDevice.dispose();
  rt.free(ptr);
  return rows;
}

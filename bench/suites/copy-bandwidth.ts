import type { BenchContext } from '../context.js';
import { type Row, type SuiteOptions, compare, measure } from '../harness.js';

const BIG = 64 << 20;
const SMALL = 4 << 10;

export async function copyBandwidth(ctx: BenchContext, options: SuiteOptions): Promise<Row[]> {
  const { rt } = ctx;
  const pageable = new Uint8Array(BIG).fill(7);
  const pinned = rt.mallocHost(BIG);
  const d0a = rt.malloc(BIG);
  const d0b = rt.malloc(BIG);
  const d1 = rt.withDevice(1, () => rt.malloc(BIG));
  const sabA = new Uint8Array(new SharedArrayBuffer(BIG)).fill(3);
  const sabB = new Uint8Array(new SharedArrayBuffer(BIG));
  const smallPageable = new Uint8Array(SMALL);
  const smallPinned = pinned.subarray(0, SMALL);
  const rows = await measure(
    'copy bandwidth',
    [
      { name: 'openreg: 64 MiB host→device, pageable', subject: 'openreg', bytes: BIG, fn: () => rt.memcpySync(d0a, pageable, BIG) },
      { name: 'openreg: 64 MiB host→device, pinned', subject: 'openreg', bytes: BIG, fn: () => rt.memcpySync(d0a, pinned, BIG) },
      { name: 'openreg: 64 MiB device→host, pinned', subject: 'openreg', bytes: BIG, fn: () => rt.memcpySync(pinned, d0a, BIG) },
      { name: 'openreg: 64 MiB device→device', subject: 'openreg', bytes: BIG, fn: () => rt.memcpySync(d0b, d0a, BIG) },
      { name: 'openreg: 64 MiB device 0→device 1 (peer)', subject: 'openreg', bytes: BIG, fn: () => rt.memcpySync(d1, d0a, BIG) },
      { name: 'TypedArray.set 64 MiB (SAB→SAB)', subject: 'reference', bytes: BIG, fn: () => sabB.set(sabA) },
      { name: 'openreg: 4 KiB host→device, pinned', subject: 'openreg', bytes: SMALL, fn: () => rt.memcpySync(d0a, smallPinned, SMALL) },
      { name: 'openreg: 4 KiB device→host, pageable', subject: 'openreg', bytes: SMALL, fn: () => rt.memcpySync(smallPageable, d0a, SMALL) },
      { name: 'TypedArray.set 4 KiB (SAB→SAB)', subject: 'reference', bytes: SMALL, fn: () => sabB.set(sabA.subarray(0, SMALL)) },
    ],
    options,
  );
  for (const r of rows) {
    if (r.subject !== 'openreg') continue;
    compare(rows, r.name, r.name.includes('64 MiB') ? 'TypedArray.set 64 MiB (SAB→SAB)' : 'TypedArray.set 4 KiB (SAB→SAB)', 'bandwidth');
  }
  rt.freeHost(pinned);
  for (const p of [d0a, d0b, d1]) rt.free(p);
  return rows;
}

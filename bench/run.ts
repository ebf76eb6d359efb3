/**
 * Runtime benchmarks (tinybench 6). Run with `npm run bench`.
 * The stream engine is the hot path: launch throughput and synchronization latency
 * are measured through the public API, as users call it.
 */
import { Bench } from 'tinybench';
import { Runtime } from '../src/index.js';

const LAUNCH_BATCH = 10_000;
const COPY_BYTES = 64 << 20;

const rt = await Runtime.create({ deviceMemoryBytes: 256 << 20, hostMemoryBytes: 160 << 20 });
try {
  const mod = await rt.loadModule(new URL('./kernels.js', import.meta.url));
  const empty = mod.getFunction('empty');
  const s = rt.streamCreate();
  const recorded = rt.eventCreate({ disableTiming: true });
  rt.eventRecord(recorded, s);
  rt.streamSynchronizeSync(s);
  const pinned = rt.mallocHost(COPY_BYTES);
  const pageable = new Uint8Array(COPY_BYTES);
  const dSrc = rt.malloc(COPY_BYTES);
  const dDst = rt.malloc(COPY_BYTES);

  const bench = new Bench({ name: 'openreg runtime', time: 1000, warmupTime: 1000 });
  bench
    .add(`launch ${LAUNCH_BATCH} empty kernels + sync (1 stream)`, () => {
      for (let i = 0; i < LAUNCH_BATCH; i++) rt.launchKernel(empty, [], s);
      rt.streamSynchronizeSync(s);
    })
    .add('launch + streamSynchronizeSync', () => {
      rt.launchKernel(empty, [], s);
      rt.streamSynchronizeSync(s);
    })
    .add('launch + await streamSynchronize', async () => {
      rt.launchKernel(empty, [], s);
      await rt.streamSynchronize(s);
    })
    .add('eventQuery', () => {
      rt.eventQuery(recorded);
    })
    .add('memcpySync 64 MiB host→device (pinned)', () => {
      rt.memcpySync(dDst, pinned, COPY_BYTES);
    })
    .add('memcpySync 64 MiB host→device (pageable)', () => {
      rt.memcpySync(dDst, pageable, COPY_BYTES);
    })
    .add('memcpySync 64 MiB device→device', () => {
      rt.memcpySync(dDst, dSrc, COPY_BYTES);
    })
    .add('TypedArray.set 64 MiB (reference)', () => {
      pinned.set(pageable);
    })
    .add('malloc + free (4 KiB)', () => {
      rt.free(rt.malloc(4096));
    });

  await bench.run();

  const rows = bench.tasks.map((task) => {
    const r = task.result;
    if (r.state !== 'completed') return { task: task.name, state: r.state };
    const meanMs = r.latency.mean;
    const row: Record<string, string> = {
      task: task.name,
      'p50 (µs)': (r.latency.p50 * 1000).toFixed(2),
      'p99 (µs)': (r.latency.p99 * 1000).toFixed(2),
      'ops/s': Math.round(r.throughput.mean).toLocaleString('en-US'),
    };
    if (task.name.startsWith('launch 10')) row.derived = `${((LAUNCH_BATCH / meanMs) * 1000 / 1e6).toFixed(2)} M launches/s`;
    if (task.name.includes('64 MiB')) row.derived = `${((COPY_BYTES / 2 ** 30) / (meanMs / 1000)).toFixed(2)} GiB/s`;
    return row;
  });
  console.log(`${bench.name} — node ${process.version}, ${(await import('node:os')).cpus().length} cores`);
  console.table(rows);
} finally {
  await rt.close();
}

/**
 * `npm run soak`: a long run that must leave memory flat — 1 M launches and 100 k cycles
 * each of streams, events, device and pinned allocations, caching-allocator blocks, and
 * streams destroyed with work pending. Prints RSS, heap and external memory at the start
 * and after each phase (after a GC, so garbage is not counted). Not part of `npm test`.
 */
import { Runtime } from '../src/index.js';

const LAUNCHES = 1_000_000;
const CYCLES = 100_000;

const gc = (globalThis as { gc?: () => void }).gc;
const MiB = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

function memory(): { rss: number; heap: number; external: number } {
  gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed, external: m.external };
}

async function main(): Promise<void> {
  if (gc === undefined) console.log('(run with --expose-gc for exact heap figures: npm run soak does)');
  const rt = await Runtime.create({ deviceCount: 2, deviceMemoryBytes: 64 << 20, hostMemoryBytes: 16 << 20 });
  const mod = await rt.loadModule(new URL('./kernels.js', import.meta.url));
  const empty = mod.getFunction('empty');
  const start = memory();
  const rows: { phase: string; seconds: string; rss: string; heap: string; external: string }[] = [];
  const phase = async (name: string, body: () => void | Promise<void>) => {
    const t = performance.now();
    await body();
    await rt.withDevice(0, () => rt.deviceSynchronize({ timeoutMs: 120_000 }));
    await rt.withDevice(1, () => rt.deviceSynchronize({ timeoutMs: 120_000 }));
    const m = memory();
    rows.push({ phase: name, seconds: ((performance.now() - t) / 1000).toFixed(1), rss: MiB(m.rss), heap: MiB(m.heap), external: MiB(m.external) });
  };
  await phase(`${LAUNCHES / 1e6} M launches, 2 devices`, () => {
    const streams = [0, 1].map((d) => rt.withDevice(d, () => rt.streamCreate()));
    for (let i = 0; i < LAUNCHES; i++) rt.launchKernel(empty, [i], streams[i & 1]);
    for (const s of streams) s.destroy();
  });
  // Twice over: memory that is retained shows up as growth between the rounds.
  const rounds = Number(process.env.SOAK_ROUNDS ?? 2);
  for (let round = 1; round <= rounds; round++) await cycles(round, phase);
  await rt.close();
  console.log(`start: rss ${MiB(start.rss)}, heap ${MiB(start.heap)}, external ${MiB(start.external)}`);
  console.table(rows);

  async function cycles(round: number, phase: (name: string, body: () => void | Promise<void>) => Promise<void>): Promise<void> {
  await phase(`round ${round}: ${CYCLES / 1000} k streamCreate → destroy`, () => {
    for (let i = 0; i < CYCLES; i++) rt.streamCreate().destroy();
  });
  await phase(`round ${round}: ${CYCLES / 1000} k streamCreate → launch → destroy`, () => {
    for (let i = 0; i < CYCLES; i++) {
      const s = rt.streamCreate();
      rt.launchKernel(empty, [i], s);
      s.destroy();
    }
  });
  await phase(`round ${round}: ${CYCLES / 1000} k eventCreate → record → destroy`, () => {
    const s = rt.streamCreate();
    for (let i = 0; i < CYCLES; i++) {
      const e = rt.eventCreate();
      e.record(s);
      e.destroy();
    }
    s.destroy();
  });
  await phase(`round ${round}: ${CYCLES / 1000} k malloc → memset → free, mallocHost → freeHost`, () => {
    for (let i = 0; i < CYCLES; i++) {
      const p = rt.malloc(4096);
      rt.memsetAsync(p, i & 0xff, 4096);
      rt.free(p);
      rt.freeHost(rt.mallocHost(4096));
    }
  });
  await phase(`round ${round}: ${CYCLES / 1000} k caching allocate → free`, () => {
    for (let i = 0; i < CYCLES; i++) rt.cachingAllocator.free(rt.cachingAllocator.allocate(1024 + (i % 64) * 512));
  });
  }
}

await main();

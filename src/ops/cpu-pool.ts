import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';

const WORKER = new URL('../../workers/cpu-pool-worker.js', import.meta.url);

let pool: Piscina | undefined;

/**
 * The host's thread pool for CPU kernels (piscina): the `cpu` backend and the CPU fallback
 * run here, never on the main thread. Idle threads do not keep the process alive.
 */
function cpuPool(): Piscina {
  return (pool ??= new Piscina({
    filename: WORKER.href,
    minThreads: 1,
    maxThreads: Math.max(1, Math.min(4, availableParallelism() - 1)),
    idleTimeout: 5_000,
  }));
}

/** Runs one typed tensor kernel, with its encoded argument block, over `buffers` on the pool. */
export function runCpuKernel(kernel: string, words: Float64Array, buffers: SharedArrayBuffer[]): Promise<void> {
  return cpuPool().run({ kernel, words, buffers }) as Promise<void>;
}

/** Stops the pool's threads (a new pool starts on the next CPU op). */
export async function shutdownCpuPool(): Promise<void> {
  const p = pool;
  pool = undefined;
  await p?.destroy();
}

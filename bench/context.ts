/** What every suite shares: one runtime, its kernels, and the baselines, started once. */
import { type Remote, wrap } from 'comlink';
import { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { type Kernel, Runtime } from '../src/index.js';
import { comlinkEndpoint } from '../src/protocol/comlink-endpoint.js';
import { RING_BYTES, RingProducer } from './baselines/atomics-ring.js';

const baselineWorker = new URL('./baselines/baseline-worker.js', import.meta.url);

export interface BenchContext {
  rt: Runtime;
  kernels: { empty: Kernel; burn: Kernel };
  /** Worker that echoes every message back. */
  echo: Worker;
  /** A comlink proxy whose `noop()` does nothing. */
  comlink: Remote<{ noop(): void }>;
  ring: RingProducer;
  /** Pools of 1 and 2 threads running bench/baselines/piscina-task. */
  piscina1: Piscina;
  piscina2: Piscina;
  close(): Promise<void>;
}

export async function createContext(): Promise<BenchContext> {
  const rt = await Runtime.create({ deviceCount: 2, deviceMemoryBytes: 768 << 20, hostMemoryBytes: 200 << 20, stagingBytes: 32 << 20 });
  const mod = await rt.loadModule(new URL('./kernels.js', import.meta.url));
  const echo = new Worker(baselineWorker, { workerData: { mode: 'echo' } });
  const comlinkWorker = new Worker(baselineWorker, { workerData: { mode: 'comlink' } });
  const ringBuffer = new SharedArrayBuffer(RING_BYTES);
  const ringWorker = new Worker(baselineWorker, { workerData: { mode: 'ring', ring: ringBuffer } });
  const task = new URL('./baselines/piscina-task.js', import.meta.url).href;
  const piscina1 = new Piscina({ filename: task, minThreads: 1, maxThreads: 1 });
  const piscina2 = new Piscina({ filename: task, minThreads: 2, maxThreads: 2 });
  const comlink = wrap<{ noop(): void }>(comlinkEndpoint(comlinkWorker));
  await comlink.noop();
  await Promise.all([piscina1.run(0), piscina2.run(0), piscina2.run(0)]);
  const ring = new RingProducer(ringBuffer);
  return {
    rt,
    kernels: { empty: mod.getFunction('empty'), burn: mod.getFunction('burnKernel') },
    echo,
    comlink,
    ring,
    piscina1,
    piscina2,
    async close() {
      ring.stop();
      await Promise.all([rt.close(), echo.terminate(), comlinkWorker.terminate(), ringWorker.terminate(), piscina1.destroy(), piscina2.destroy()]);
    },
  };
}

/** Resolves after `n` echoes of the echo worker. */
export function echoes(echo: Worker, n: number): Promise<void> {
  return new Promise((resolve) => {
    let left = n;
    const onMessage = () => {
      if (--left === 0) {
        echo.off('message', onMessage);
        resolve();
      }
    };
    echo.on('message', onMessage);
    for (let i = 0; i < n; i++) echo.postMessage(i);
  });
}

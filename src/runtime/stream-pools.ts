import type { StreamQueue } from '../device/stream-queue.js';
import { kQueue } from './symbols.js';
import type { Stream } from './handles.js';

/** Streams per pool (PyTorch's kStreamsPerPool). */
export const STREAMS_PER_POOL = 32;
const HIGH_PRIORITY = -5;
const NORMAL_PRIORITY = 0;

interface Pool {
  streams: Stream[];
  next: number;
}

/**
 * Per-device pools of streams, one per priority, created in full on first use and handed
 * out round-robin (PyTorch's CUDA stream pool).
 */
export class StreamPools {
  /** Per device: [normal, high]. */
  readonly #pools: ([Pool | undefined, Pool | undefined] | undefined)[] = [];
  readonly #members = new WeakSet<StreamQueue>();

  next(device: { index: number }, high: boolean, create: (priority: number) => Stream): Stream {
    const pools = (this.#pools[device.index] ??= [undefined, undefined]);
    let pool = pools[high ? 1 : 0];
    if (pool === undefined) {
      const streams: Stream[] = [];
      try {
        for (let i = 0; i < STREAMS_PER_POOL; i++) streams.push(create(high ? HIGH_PRIORITY : NORMAL_PRIORITY));
      } catch (error) {
        // All or nothing: a pool that cannot be completed gives its streams back.
        for (const s of streams) s.destroy();
        throw error;
      }
      for (const s of streams) this.#members.add(s[kQueue]);
      pool = pools[high ? 1 : 0] = { streams, next: 0 };
    }
    const stream = pool.streams[pool.next]!;
    pool.next = (pool.next + 1) % STREAMS_PER_POOL;
    return stream;
  }

  owns(queue: StreamQueue): boolean {
    return this.#members.has(queue);
  }

  /** A reset invalidates the device's pool streams: the pool is rebuilt on next use. */
  dropDevice(device: number): void {
    this.#pools[device] = undefined;
  }
}

/** One statistic: its current value, its peak, and cumulative increases and decreases. */
export interface Stat {
  current: number;
  peak: number;
  allocated: number;
  freed: number;
}

/** A statistic in total and per pool (PyTorch's "all", "small_pool", "large_pool"). */
export interface PooledStat {
  all: Stat;
  smallPool: Stat;
  largePool: Stat;
}

/** `memoryStats(device)` of the caching allocator. */
export interface MemoryStats {
  /** Bytes in blocks handed out and not freed. */
  allocatedBytes: PooledStat;
  /** Bytes of segments obtained from the device. */
  reservedBytes: PooledStat;
  /** Allocated bytes plus freed bytes still waiting for other streams' work. */
  activeBytes: PooledStat;
  /** Allocations that failed, freed cached segments and tried again. */
  numAllocRetries: number;
  /** Allocations that failed even after freeing the cache. */
  numOoms: number;
}

type Pool = 'small' | 'large';

class Counter {
  current = 0;
  peak = 0;
  allocated = 0;
  freed = 0;

  add(n: number): void {
    this.current += n;
    this.allocated += n;
    if (this.current > this.peak) this.peak = this.current;
  }

  sub(n: number): void {
    this.current -= n;
    this.freed += n;
  }

  snapshot(): Stat {
    return { current: this.current, peak: this.peak, allocated: this.allocated, freed: this.freed };
  }
}

class PooledCounter {
  readonly all = new Counter();
  readonly small = new Counter();
  readonly large = new Counter();

  add(pool: Pool, n: number): void {
    this.all.add(n);
    this[pool].add(n);
  }

  sub(pool: Pool, n: number): void {
    this.all.sub(n);
    this[pool].sub(n);
  }

  resetPeaks(): void {
    for (const c of [this.all, this.small, this.large]) c.peak = c.current;
  }

  snapshot(): PooledStat {
    return { all: this.all.snapshot(), smallPool: this.small.snapshot(), largePool: this.large.snapshot() };
  }
}

/** The counters behind MemoryStats, for one device. */
export class StatCounters {
  readonly #allocated = new PooledCounter();
  readonly #reserved = new PooledCounter();
  readonly #active = new PooledCounter();
  numAllocRetries = 0;
  numOoms = 0;

  allocate(pool: Pool, n: number): void {
    this.#allocated.add(pool, n);
    this.#active.add(pool, n);
  }

  free(pool: Pool, n: number): void {
    this.#allocated.sub(pool, n);
  }

  /** A freed block is back in its pool (at once, or once other streams' work is done). */
  deactivate(pool: Pool, n: number): void {
    this.#active.sub(pool, n);
  }

  reserve(pool: Pool, n: number): void {
    this.#reserved.add(pool, n);
  }

  unreserve(pool: Pool, n: number): void {
    this.#reserved.sub(pool, n);
  }

  resetPeaks(): void {
    this.#allocated.resetPeaks();
    this.#reserved.resetPeaks();
    this.#active.resetPeaks();
  }

  snapshot(): MemoryStats {
    return {
      allocatedBytes: this.#allocated.snapshot(),
      reservedBytes: this.#reserved.snapshot(),
      activeBytes: this.#active.snapshot(),
      numAllocRetries: this.numAllocRetries,
      numOoms: this.numOoms,
    };
  }
}

/**
 * A FIFO ring of staging space in pinned memory for pageable host-to-device copies:
 * the host captures the caller's bytes into a chunk at call time, the device copies
 * from the chunk in stream order, and the chunk is reclaimed once that copy is done.
 */
interface StagingChunk {
  start: number;
  end: number;
  done: () => boolean;
}

export class StagingRing {
  readonly base: number;
  readonly capacity: number;
  #chunks: StagingChunk[] = [];
  #head = 0;

  constructor(base: number, capacity: number) {
    this.base = base;
    this.capacity = capacity;
  }

  /** Largest chunk worth asking for: a quarter of the ring keeps copies pipelined. */
  get chunkLimit(): number {
    return Math.max(1, Math.floor(this.capacity / 4));
  }

  /** Absolute offset of `bytes` of staging space, or -1 if not available now. */
  allocate(bytes: number, done: () => boolean): number {
    this.reclaim();
    const start = this.#place(bytes);
    if (start < 0) return -1;
    this.#chunks.push({ start, end: start + bytes, done });
    return this.base + start;
  }

  reclaim(): void {
    while (this.#head < this.#chunks.length && this.#chunks[this.#head]!.done()) this.#head++;
    if (this.#head === this.#chunks.length) {
      this.#chunks.length = 0;
      this.#head = 0;
    } else if (this.#head > 64) {
      this.#chunks.splice(0, this.#head);
      this.#head = 0;
    }
  }

  #place(bytes: number): number {
    if (bytes > this.capacity) return -1;
    if (this.#head === this.#chunks.length) return 0;
    const head = this.#chunks[this.#head]!.start;
    const tail = this.#chunks[this.#chunks.length - 1]!.end;
    if (tail > head) {
      if (this.capacity - tail >= bytes) return tail;
      return head >= bytes ? 0 : -1;
    }
    return head - tail >= bytes ? tail : -1;
  }

  reset(): void {
    this.#chunks.length = 0;
    this.#head = 0;
  }
}

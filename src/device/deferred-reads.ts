/**
 * A host read of device memory that waits for its stream's work and then copies straight
 * out of device memory (one copy, no staging), while nothing is enqueued meanwhile. Any
 * enqueue, on any stream, first turns every pending read into its stream-ordered staged
 * copy (`stage`): that later work may overwrite the bytes, and the read must see them as
 * of the call.
 */
export interface DeferredRead {
  /** Enqueues the read's copy into host memory at the stream position of the call. */
  stage(): void;
}

/** The runtime's pending deferred reads (one set for all devices: cheap to check on every enqueue). */
export class DeferredReads {
  /** Reads not yet staged: the enqueue paths check this one number. */
  pending = 0;
  readonly #reads = new Set<DeferredRead>();

  add(read: DeferredRead): void {
    this.#reads.add(read);
    this.pending = this.#reads.size;
  }

  /** Forgets `read`; true if it was still pending (not staged). */
  take(read: DeferredRead): boolean {
    const had = this.#reads.delete(read);
    this.pending = this.#reads.size;
    return had;
  }

  /** Stages every pending read (before an enqueue or a direct write of device memory). */
  stageAll(): void {
    const reads = [...this.#reads];
    this.#reads.clear();
    this.pending = 0;
    for (const r of reads) r.stage();
  }
}

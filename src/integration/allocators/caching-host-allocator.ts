import { type StreamPosition, reached } from '../../device/stream-queue.js';
import { ErrorCode } from '../../errors/error-code.js';
import { invalidValue } from '../../errors/errors.js';
import { OpenRegError } from '../../errors/openreg-error.js';
import { requireInteger } from '../../errors/validate.js';
import type { Stream } from '../../runtime/handles.js';
import type { IntegrationContext } from '../../runtime/runtime-api.js';

interface HostBlock {
  view: Uint8Array;
  size: number;
  allocated: boolean;
  /** Streams whose work used the block since it was handed out. */
  uses: Set<Stream>;
  /** After free: markers on those streams; the block is reusable once all have completed. */
  pending: StreamPosition[] | undefined;
}

/** Statistics of the caching pinned host allocator. */
export interface HostMemoryStats {
  /** Bytes in blocks handed out and not freed. */
  allocatedBytes: number;
  /** Bytes of pinned memory held (handed out, cached, or waiting for streams). */
  reservedBytes: number;
  /** Freed bytes whose streams have not finished with them yet. */
  pendingBytes: number;
  /** Cached bytes ready for reuse. */
  cachedBytes: number;
  allocations: number;
  /** Allocations served from the cache. */
  cacheHits: number;
}

/**
 * The caching pinned host allocator (PyTorch's CachingHostAllocator): blocks rounded up
 * to a power of two and cached by size. A freed block is reused only once the work of
 * every stream that used it (recordStream, or any memcpyAsync through it) has completed.
 */
export class CachingHostAllocator {
  readonly #ctx: IntegrationContext;
  /** Live and cached blocks by the byte offset of their view. */
  readonly #blocks = new Map<number, HostBlock>();
  readonly #free = new Map<number, HostBlock[]>();
  readonly #pending = new Set<HostBlock>();
  #allocations = 0;
  #cacheHits = 0;

  /** @internal use rt.hostAllocator */
  constructor(ctx: IntegrationContext) {
    this.#ctx = ctx;
    // Every copy through a pinned block (memcpyAsync, memcpy) counts as a use of its stream.
    ctx.observer.subscribe({
      copy: ({ stream, pinned }) => {
        for (const base of pinned) this.#noteUse(base, stream);
      },
    });
  }

  /** A pinned block of at least `size` bytes, as a Uint8Array of exactly `size` bytes. */
  allocate(size: number): Uint8Array {
    const call = 'hostAllocator.allocate';
    this.#ctx.open(call);
    const n = requireInteger(call, 'size', size, 1);
    const rounded = 2 ** Math.ceil(Math.log2(Math.max(n, 256)));
    this.#processPending();
    this.#allocations++;
    let block = this.#free.get(rounded)?.pop();
    if (block !== undefined) {
      this.#cacheHits++;
    } else {
      let view: Uint8Array;
      try {
        view = this.#ctx.api.mallocHost(rounded);
      } catch (error) {
        if (!(error instanceof OpenRegError && error.code === ErrorCode.OUT_OF_MEMORY)) throw error;
        // Out of pinned memory: give back what the cache holds, then try once more.
        this.emptyCache();
        view = this.#ctx.api.mallocHost(rounded);
      }
      block = { view, size: rounded, allocated: false, uses: new Set(), pending: undefined };
      this.#blocks.set(view.byteOffset, block);
    }
    block.allocated = true;
    return block.view.subarray(0, n);
  }

  /** Returns a block; it is reused once every stream that used it has finished that work. */
  free(view: Uint8Array): void {
    const call = 'hostAllocator.free';
    const block = this.#live(call, view);
    block.allocated = false;
    const pending = [...block.uses].flatMap((s) => this.#ctx.mark(call, s) ?? []);
    block.uses.clear();
    if (pending.length === 0) {
      this.#cache(block);
      return;
    }
    block.pending = pending;
    this.#pending.add(block);
  }

  /** Marks `view`'s block as used by work on `stream`. */
  recordStream(view: Uint8Array, stream: Stream): void {
    const call = 'hostAllocator.recordStream';
    const block = this.#live(call, view);
    block.uses.add(this.#ctx.stream(call, stream));
  }

  /** A copy on `stream` used the pinned allocation starting at byte `base` of the pool. */
  #noteUse(base: number, stream: Stream): void {
    const block = this.#blocks.get(base);
    if (block !== undefined && block.allocated) block.uses.add(stream);
  }

  /** Frees every cached block back to the pinned pool. */
  emptyCache(): void {
    this.#processPending();
    for (const list of this.#free.values()) {
      for (const block of list) {
        this.#blocks.delete(block.view.byteOffset);
        this.#ctx.api.freeHost(block.view);
      }
    }
    this.#free.clear();
  }

  stats(): HostMemoryStats {
    this.#processPending();
    let allocated = 0;
    let reserved = 0;
    let pending = 0;
    let cached = 0;
    for (const b of this.#blocks.values()) {
      reserved += b.size;
      if (b.allocated) allocated += b.size;
      else if (b.pending !== undefined) pending += b.size;
      else cached += b.size;
    }
    return { allocatedBytes: allocated, reservedBytes: reserved, pendingBytes: pending, cachedBytes: cached, allocations: this.#allocations, cacheHits: this.#cacheHits };
  }

  #live(call: string, view: unknown): HostBlock {
    const block = ArrayBuffer.isView(view) ? this.#blocks.get(view.byteOffset) : undefined;
    if (block === undefined || !block.allocated || block.view.buffer !== (view as Uint8Array).buffer) {
      throw invalidValue(call, 'not the start of a live block of the caching host allocator (unknown, interior, or already freed)', view);
    }
    return block;
  }

  #cache(block: HostBlock): void {
    let list = this.#free.get(block.size);
    if (list === undefined) this.#free.set(block.size, (list = []));
    list.push(block);
  }

  #processPending(): void {
    for (const block of this.#pending) {
      if (!block.pending!.every(reached)) continue;
      this.#pending.delete(block);
      block.pending = undefined;
      this.#cache(block);
    }
  }
}

import sortedBtree from 'sorted-btree';
import { type StreamPosition, reached } from '../../device/stream-queue.js';
import { ErrorCode } from '../../errors/error-code.js';
import { invalidValue, openRegError } from '../../errors/errors.js';
import { OpenRegError } from '../../errors/openreg-error.js';
import { requireInteger } from '../../errors/validate.js';
import type { DevicePtr } from '../../protocol/pointer.js';
import type { Stream } from '../../runtime/handles.js';
import type { IntegrationContext } from '../../runtime/runtime-api.js';
import { type MemoryStats, StatCounters } from './memory-stats.js';
import { reclaimMemory } from './memory-reclaimers.js';

const MiB = 1024 * 1024;
/** Requests are rounded up to multiples of this. */
export const ROUND_BYTES = 512;
/** Requests up to this size are served by the small pool. */
export const SMALL_SIZE = 1 * MiB;
/** Segment size of the small pool. */
export const SMALL_SEGMENT = 2 * MiB;
/** Segment size for large requests below MIN_LARGE_ALLOC. */
export const LARGE_SEGMENT = 20 * MiB;
export const MIN_LARGE_ALLOC = 10 * MiB;
/** Larger requests get their own segment, rounded up to this. */
export const ROUND_LARGE = 2 * MiB;

type PoolName = 'small' | 'large';

/** A block of device memory handed out by the caching allocator. */
export class DeviceBlock {
  /** Start of the block (a DevicePtr). */
  readonly ptr: DevicePtr;
  readonly device: number;
  /** Bytes asked for. */
  readonly requested: number;
  /** The stream the block was allocated on: it may be reused at once by later work there. */
  readonly stream: Stream;
  /** @internal The allocator's record of the block and the device cache it came from (a reset replaces the cache). */
  readonly entry: Block;
  /** @internal */
  readonly cache: DeviceCache;

  /** @internal */
  constructor(ptr: DevicePtr, device: number, requested: number, stream: Stream, entry: Block, cache: DeviceCache) {
    this.ptr = ptr;
    this.device = device;
    this.requested = requested;
    this.stream = stream;
    this.entry = entry;
    this.cache = cache;
  }
}

/** A range of a segment: allocated, free (in a pool), or waiting for other streams. A class: one shape for every block. */
class Block {
  segment: Segment;
  ptr: DevicePtr;
  size: number;
  /** The stream the block belongs to (a stream handle is one per stream, so it serves as the key). */
  stream: Stream;
  allocated = false;
  /** Freed, waiting for the markers recorded on the streams it was used on. */
  pending: StreamPosition[] | undefined = undefined;
  prev: Block | undefined = undefined;
  next: Block | undefined = undefined;
  /** Streams other than `stream` that used the block (recordStream). */
  streamUses: Set<Stream> | undefined = undefined;
  handle: DeviceBlock | undefined = undefined;

  constructor(segment: Segment, ptr: DevicePtr, size: number, stream: Stream) {
    this.segment = segment;
    this.ptr = ptr;
    this.size = size;
    this.stream = stream;
  }
}

interface Segment {
  ptr: DevicePtr;
  size: number;
  pool: PoolName;
  /** The block at the segment's start: its blocks, in address order, follow through `next`. */
  head: Block;
}

// A CommonJS package: Node's import gives its exports object, a bundler's interop (vitest) the class itself.
const BTree: typeof sortedBtree.default = (sortedBtree as { default?: typeof sortedBtree.default }).default ?? (sortedBtree as unknown as typeof sortedBtree.default);

/** The order of free blocks, as PyTorch's BlockComparator: smallest first, then lowest address. */
function bySizeThenPtr(a: FreeKey, b: FreeKey): number {
  return a.size - b.size || a.ptr - b.ptr;
}

type FreeKey = Pick<Block, 'size' | 'ptr'>;

/**
 * Free blocks of one pool, per stream, in a B+ tree ordered by (size, ptr) for best fit
 * (PyTorch's std::set): a fragmented cache holds thousands, and a sorted array would shift
 * them on every allocation and free.
 */
class FreePool {
  readonly #byStream = new Map<Stream, InstanceType<typeof BTree<FreeKey, undefined>>>();
  /** The best-fit probe and result pair, reused: a lookup allocates nothing. */
  readonly #probe = { size: 0, ptr: -1 as DevicePtr };
  readonly #found: [FreeKey, undefined] = [this.#probe, undefined];

  insert(block: Block): void {
    let tree = this.#byStream.get(block.stream);
    if (tree === undefined) this.#byStream.set(block.stream, (tree = new BTree<FreeKey, undefined>(undefined, bySizeThenPtr)));
    tree.set(block, undefined);
  }

  remove(block: Block): void {
    this.#byStream.get(block.stream)?.delete(block);
  }

  /** The smallest free block of `stream` with at least `size` bytes. */
  bestFit(stream: Stream, size: number): Block | undefined {
    const tree = this.#byStream.get(stream);
    if (tree === undefined || tree.size === 0) return undefined;
    this.#probe.size = size;
    return tree.getPairOrNextHigher(this.#probe, this.#found)?.[0] as Block | undefined;
  }

  *blocks(): Iterable<Block> {
    for (const tree of this.#byStream.values()) yield* tree.keys() as Iterable<Block>;
  }
}

/** The caching allocator's state for one device. */
class DeviceCache {
  readonly pools: Record<PoolName, FreePool> = { small: new FreePool(), large: new FreePool() };
  readonly pending = new Set<Block>();
  readonly segments = new Set<Segment>();
  readonly stats = new StatCounters();
}

/**
 * The caching device allocator, with the semantics of PyTorch's CUDA caching allocator:
 * 512-byte rounding, a small pool (≤ 1 MiB, 2 MiB segments) and a large pool, block
 * splitting and merging, stream-ordered reuse, recordStream, free-cache-and-retry on
 * OOM, and per-pool statistics. Segments come from rt.malloc; `emptyCache` gives unused
 * ones back.
 */
export class CachingAllocator {
  readonly #ctx: IntegrationContext;
  readonly #caches: (DeviceCache | undefined)[] = [];

  /** @internal use rt.cachingAllocator */
  constructor(ctx: IntegrationContext) {
    this.#ctx = ctx;
    // A reset frees all of a device's memory: its cache goes with it.
    ctx.observer.subscribe({ deviceReset: ({ device }) => (this.#caches[device] = undefined) });
  }

  /** Allocates `size` bytes for use on `stream` (default: the current stream of the current device). */
  allocate(size: number, stream?: Stream): DeviceBlock {
    const call = 'cachingAllocator.allocate';
    this.#ctx.open(call);
    const n = requireInteger(call, 'size', size, 1);
    const handle = this.#ctx.streamOrCurrent(call, stream);
    const device = handle.device;
    const cache = this.#cache(device);
    this.#processPending(cache);
    const rounded = roundSize(n);
    const poolName: PoolName = rounded <= SMALL_SIZE ? 'small' : 'large';
    const pool = cache.pools[poolName];
    let block = pool.bestFit(handle, rounded);
    if (block !== undefined) {
      pool.remove(block);
    } else {
      block = this.#newSegment(call, cache, device, handle, rounded, poolName, n);
    }
    // Split when the remainder is worth keeping (PyTorch's rule per pool).
    const remaining = block.size - rounded;
    if (poolName === 'small' ? remaining >= ROUND_BYTES : remaining > SMALL_SIZE) {
      const rest = new Block(block.segment, (block.ptr + rounded) as DevicePtr, remaining, handle);
      rest.prev = block;
      rest.next = block.next;
      if (block.next) block.next.prev = rest;
      block.next = rest;
      block.size = rounded;
      pool.insert(rest);
    }
    block.allocated = true;
    block.handle = new DeviceBlock(block.ptr, device, n, handle, block, cache);
    cache.stats.allocate(poolName, block.size);
    if (this.#ctx.observer.listeners.cachingAllocation !== undefined) {
      this.#ctx.observer.emit('cachingAllocation', { device, ptr: block.ptr, size: block.size, stream: handle });
    }
    return block.handle;
  }

  /**
   * Returns a block to the cache. Reused at once by later work on its own stream; if
   * other streams used it (recordStream), only after their work enqueued so far is done.
   * `call` names the public call that frees, for the sanitizer's reports (a tensor's `dispose`).
   */
  free(block: DeviceBlock | DevicePtr, call = 'cachingAllocator.free'): void {
    const b = this.#liveBlock(call, block);
    const device = b.handle!.device;
    const cache = this.#cache(device);
    let verdict: { error: unknown } | undefined;
    if (this.#ctx.observer.listeners.cachingFree !== undefined) {
      // A checker's verdict (the sanitizer's ERR_DATA_RACE) is thrown after the free is done: thrown first, it would leak the block.
      try {
        this.#ctx.observer.emit('cachingFree', { device, ptr: b.ptr, size: b.size, stream: b.stream, streamUses: [...(b.streamUses ?? [])], call });
      } catch (error) {
        verdict = { error };
      }
    }
    b.allocated = false;
    b.handle = undefined;
    cache.stats.free(b.segment.pool, b.size);
    const uses = b.streamUses !== undefined && b.streamUses.size > 0;
    if (!uses) cache.stats.deactivate(b.segment.pool, b.size);
    if (uses) {
      b.pending = [...b.streamUses!].flatMap((s) => this.#ctx.mark(call, s) ?? []);
      b.streamUses = undefined;
      cache.pending.add(b);
      this.#processPending(cache);
    } else {
      this.#release(cache, b);
    }
    if (verdict !== undefined) throw verdict.error;
  }

  /** Marks `block` as used by work on `stream`, so that freeing it waits for that work. */
  recordStream(block: DeviceBlock | DevicePtr, stream: Stream): void {
    const call = 'cachingAllocator.recordStream';
    const b = this.#liveBlock(call, block);
    const used = this.#ctx.stream(call, stream);
    if (used === b.stream) return;
    (b.streamUses ??= new Set()).add(used);
  }

  /** Gives back to the device every cached segment with no block in use. */
  /** Gives back every cached segment with no block in use, after the work holding freed blocks (recordStream) finishes. */
  emptyCache(): void {
    const call = 'cachingAllocator.emptyCache';
    this.#ctx.open(call);
    for (const [device, cache] of this.#caches.entries()) {
      if (cache === undefined) continue;
      this.#awaitPending(call, cache);
      this.#releaseCached(cache, device, () => true);
    }
  }

  /** Allocated, reserved and active bytes (current, peak), per pool and in total; retries and OOMs. */
  memoryStats(device?: number): MemoryStats {
    const d = this.#ctx.deviceOrCurrent('cachingAllocator.memoryStats', device);
    const cache = this.#cache(d);
    this.#processPending(cache);
    return cache.stats.snapshot();
  }

  resetPeakMemoryStats(device?: number): void {
    const d = this.#ctx.deviceOrCurrent('cachingAllocator.resetPeakMemoryStats', device);
    this.#cache(d).stats.resetPeaks();
  }

  /** @internal True while `block` is allocated: false once freed, or dropped by a reset of its device. */
  isLive(block: DeviceBlock): boolean {
    // No map lookup: the handle knows its record, and a reset replaced the cache it came from.
    return block.entry.handle === block && this.#caches[block.device] === block.cache;
  }

  #cache(device: number): DeviceCache {
    return (this.#caches[device] ??= new DeviceCache());
  }

  #liveBlock(call: string, block: DeviceBlock | DevicePtr): Block {
    if (block instanceof DeviceBlock) {
      // A stale handle (its block freed or dropped by a reset) must not free a newer block at the same address.
      if (this.isLive(block)) return block.entry;
    } else {
      // By address, through the segments: no map of live blocks (a Map churned by set and delete costs O(size) per change in V8).
      for (const cache of this.#caches) {
        if (cache === undefined) continue;
        for (const segment of cache.segments) {
          if (block < segment.ptr || block >= segment.ptr + segment.size) continue;
          for (let b: Block | undefined = segment.head; b !== undefined && b.ptr <= block; b = b.next) if (b.ptr === block && b.allocated) return b;
        }
      }
    }
    throw invalidValue(call, 'not a live block of the caching allocator (unknown or already freed)', block);
  }

  #newSegment(call: string, cache: DeviceCache, device: number, stream: Stream, rounded: number, pool: PoolName, requested: number): Block {
    const size = pool === 'small' ? SMALL_SEGMENT : rounded < MIN_LARGE_ALLOC ? LARGE_SEGMENT : Math.ceil(rounded / ROUND_LARGE) * ROUND_LARGE;
    let ptr = this.#tryMalloc(device, size);
    if (ptr === undefined) {
      // Free cached blocks and retry: first segments large enough, then all of them. Blocks
      // held back by recordStream are waited for first (PyTorch's synchronize_and_free_events).
      cache.stats.numAllocRetries++;
      this.#awaitPending(call, cache);
      this.#releaseCached(cache, device, (s) => s.size >= size);
      ptr = this.#tryMalloc(device, size);
      if (ptr === undefined) {
        this.#releaseCached(cache, device, () => true);
        ptr = this.#tryMalloc(device, size);
      }
    }
    // Memory held only by collectable objects (tensors dropped without dispose()): freed, then the pool tried again.
    if (ptr === undefined && reclaimMemory()) {
      const freed = cache.pools[pool].bestFit(stream, rounded);
      if (freed !== undefined) {
        cache.pools[pool].remove(freed);
        return freed;
      }
      this.#releaseCached(cache, device, () => true);
      ptr = this.#tryMalloc(device, size);
    }
    if (ptr === undefined) {
      cache.stats.numOoms++;
      const { free, total } = this.#ctx.api.withDevice(device, () => this.#ctx.api.memGetInfo());
      const { allocatedBytes, reservedBytes } = cache.stats.snapshot();
      const fields = { call, device, bytes: requested, segment: size, free, total, allocated: allocatedBytes.all.current, reserved: reservedBytes.all.current };
      throw openRegError('outOfCachedMemory', fields, device);
    }
    const segment = { ptr, size, pool } as Segment;
    segment.head = new Block(segment, ptr, size, stream);
    cache.segments.add(segment);
    cache.stats.reserve(pool, size);
    return segment.head;
  }

  #tryMalloc(device: number, size: number): DevicePtr | undefined {
    try {
      return this.#ctx.api.withDevice(device, () => this.#ctx.api.malloc(size));
    } catch (error) {
      if (error instanceof OpenRegError && error.code === ErrorCode.OUT_OF_MEMORY) return undefined;
      throw error;
    }
  }

  /** Merges a free block with free neighbours and puts it in its pool. */
  #release(cache: DeviceCache, block: Block): void {
    const pool = cache.pools[block.segment.pool];
    block.handle = undefined;
    const prev = block.prev;
    if (prev !== undefined && mergeable(prev, block)) {
      pool.remove(prev);
      block.ptr = prev.ptr;
      block.size += prev.size;
      block.prev = prev.prev;
      if (block.prev) block.prev.next = block;
      else block.segment.head = block;
    }
    const next = block.next;
    if (next !== undefined && mergeable(next, block)) {
      pool.remove(next);
      block.size += next.size;
      block.next = next.next;
      if (block.next) block.next.prev = block;
    }
    pool.insert(block);
  }

  /** Waits for the streams that still use freed blocks, then returns those blocks to their pools. */
  #awaitPending(call: string, cache: DeviceCache): void {
    const positions = [...cache.pending].flatMap((b) => b.pending!);
    if (positions.length > 0) this.#ctx.synchronize(call, positions);
    this.#processPending(cache);
  }

  /** Returns freed blocks whose other-stream work has completed to their pools. */
  #processPending(cache: DeviceCache): void {
    if (cache.pending.size === 0) return;
    for (const b of cache.pending) {
      if (!b.pending!.every(reached)) continue;
      cache.pending.delete(b);
      b.pending = undefined;
      cache.stats.deactivate(b.segment.pool, b.size);
      this.#release(cache, b);
    }
  }

  /** Frees whole cached segments (one free block spanning the segment) matching `which`. */
  #releaseCached(cache: DeviceCache, device: number, which: (s: Segment) => boolean): void {
    for (const poolName of ['small', 'large'] as const) {
      const pool = cache.pools[poolName];
      for (const b of [...pool.blocks()]) {
        if (b.prev !== undefined || b.next !== undefined || !which(b.segment)) continue;
        pool.remove(b);
        cache.segments.delete(b.segment);
        cache.stats.unreserve(poolName, b.segment.size);
        this.#ctx.api.withDevice(device, () => this.#ctx.api.free(b.segment.ptr));
      }
    }
  }
}

function roundSize(size: number): number {
  return size < ROUND_BYTES ? ROUND_BYTES : Math.ceil(size / ROUND_BYTES) * ROUND_BYTES;
}

/** True if free `neighbour` can join `block` (same stream, nothing pending on it). */
function mergeable(neighbour: Block, block: Block): boolean {
  return !neighbour.allocated && neighbour.pending === undefined && neighbour.stream === block.stream;
}

import type { Fence } from '../protocol/fence.js';
import { AllocationTable } from './allocation-table.js';
import { RangeAllocator } from './range-allocator.js';

interface PendingRelease {
  offset: number;
  reserved: number;
  fence: Fence;
}

/**
 * Allocations over one region with deferred release: a freed range goes back to the
 * free list only once its fence (all work enqueued before the free) has completed.
 * Until then the allocation table still maps it, so that earlier work keeps running.
 */
export class FencedAllocator {
  readonly ranges: RangeAllocator;
  readonly table: AllocationTable;
  /** Live allocations: base offset → requested size. */
  readonly #live = new Map<number, number>();
  #pending: PendingRelease[] = [];
  #liveBytes = 0;
  #freeEpoch = 1;

  constructor(capacity: number, alignment: number, table: AllocationTable = AllocationTable.create(capacity)) {
    this.ranges = new RangeAllocator(capacity, alignment);
    this.table = table;
  }

  /** Offset of a new allocation, or -1 if it does not fit even after collecting released ranges. */
  allocate(size: number): number {
    let offset = this.ranges.allocate(size);
    if (offset < 0 && this.collect() > 0) offset = this.ranges.allocate(size);
    if (offset < 0) return -1;
    this.table.claim(offset, this.ranges.roundUp(size), size);
    this.#live.set(offset, size);
    this.#liveBytes += this.ranges.roundUp(size);
    return offset;
  }

  /** Frees the live allocation at exactly `offset`; false if there is none. */
  free(offset: number, fence: Fence): boolean {
    const size = this.#live.get(offset);
    if (size === undefined) return false;
    this.#live.delete(offset);
    // Epochs wrap as int32 and skip 0 (which means "live").
    this.#freeEpoch = (this.#freeEpoch + 1) | 0 || 1;
    this.table.retire(offset, this.#freeEpoch);
    const reserved = this.ranges.roundUp(size);
    this.#liveBytes -= reserved;
    if (fence.complete) this.#release(offset, reserved);
    else this.#pending.push({ offset, reserved, fence });
    return true;
  }

  /** Counts frees: work enqueued now carries it, and may not touch memory freed at or before it. */
  get freeEpoch(): number {
    return this.#freeEpoch;
  }

  /** Base offset of the live allocation containing [offset, offset + bytes), or -1. */
  find(offset: number, bytes: number): number {
    const base = this.table.find(offset, bytes);
    return base >= 0 && this.#live.has(base) ? base : -1;
  }

  sizeOf(base: number): number {
    return this.#live.get(base) ?? 0;
  }

  get liveCount(): number {
    return this.#live.size;
  }

  /** Bytes reserved by live allocations (rounded to the alignment). */
  get liveBytes(): number {
    return this.#liveBytes;
  }

  /** True if some freed ranges wait for their fence. */
  get hasPendingReleases(): boolean {
    return this.#pending.length > 0;
  }

  /** Releases every freed range whose fence has completed; returns how many. */
  collect(): number {
    let released = 0;
    const still: PendingRelease[] = [];
    for (const p of this.#pending) {
      if (p.fence.complete) {
        this.#release(p.offset, p.reserved);
        released++;
      } else {
        still.push(p);
      }
    }
    this.#pending = still;
    return released;
  }

  /** Forgets everything: all memory is free (device reset). */
  reset(): void {
    this.#live.clear();
    this.#pending = [];
    this.#liveBytes = 0;
    this.ranges.reset();
    this.table.reset();
  }

  #release(offset: number, reserved: number): void {
    this.table.clear(offset, reserved);
    this.ranges.release(offset, reserved);
  }
}

import { GRANULE_BYTES } from '../protocol/layout.js';
import type { Fence } from '../protocol/fence.js';
import { FencedAllocator } from './fenced-allocator.js';
import { StagingRing } from './staging-ring.js';

/**
 * Pinned host memory: one SharedArrayBuffer that every device worker can copy to and
 * from asynchronously. Its first `stagingBytes` are the staging ring for pageable
 * copies; the rest serves `mallocHost`.
 */
export class HostMemory {
  readonly pool: SharedArrayBuffer;
  readonly poolBytes: Uint8Array;
  readonly staging: StagingRing;
  readonly pinned: FencedAllocator;
  readonly #pinnedBase: number;
  /** Device current at each allocation (cudaPointerGetAttributes reports it). */
  readonly #devices = new Map<number, number>();

  constructor(stagingBytes: number, pinnedBytes: number) {
    this.pool = new SharedArrayBuffer(stagingBytes + pinnedBytes);
    this.poolBytes = new Uint8Array(this.pool);
    this.staging = new StagingRing(0, stagingBytes);
    this.#pinnedBase = stagingBytes;
    this.pinned = new FencedAllocator(pinnedBytes, GRANULE_BYTES);
  }

  /** A pinned allocation as a view, or undefined if it does not fit. */
  allocate(size: number, device: number): Uint8Array | undefined {
    const offset = this.pinned.allocate(size);
    if (offset < 0) return undefined;
    this.#devices.set(offset, device);
    return new Uint8Array(this.pool, this.#pinnedBase + offset, size);
  }

  /** Frees the allocation `view` starts; false if it is not the start of a live one. */
  free(view: ArrayBufferView, fence: Fence): boolean {
    if (view.buffer !== this.pool) return false;
    const offset = view.byteOffset - this.#pinnedBase;
    if (!this.pinned.free(offset, fence)) return false;
    this.#devices.delete(offset);
    return true;
  }

  /** Absolute pool offset of the allocation holding `bytes` bytes of `view` from its start, or -1. */
  findPinned(view: ArrayBufferView, bytes: number): number {
    if (view.buffer !== this.pool) return -1;
    const offset = view.byteOffset - this.#pinnedBase;
    return offset >= 0 && this.pinned.find(offset, bytes) >= 0 ? view.byteOffset : -1;
  }

  /** The pinned allocation containing `view`'s first byte, as a view of all of it. */
  allocationOf(view: ArrayBufferView): { base: Uint8Array; device: number } | undefined {
    if (view.buffer !== this.pool) return undefined;
    const offset = view.byteOffset - this.#pinnedBase;
    const base = offset >= 0 ? this.pinned.find(offset, Math.min(1, view.byteLength)) : -1;
    if (base < 0) return undefined;
    return { base: new Uint8Array(this.pool, this.#pinnedBase + base, this.pinned.sizeOf(base)), device: this.#devices.get(base) ?? 0 };
  }

  /** True if the whole of `view` lies inside one live pinned allocation. */
  isPinned(view: ArrayBufferView): boolean {
    return this.findPinned(view, view.byteLength) >= 0;
  }
}

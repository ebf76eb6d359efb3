import { GRANULE_BYTES } from '../protocol/layout.js';

/**
 * The live allocations of one device heap, in shared memory so that the device worker
 * can bounds-check kernel views without asking the main thread. One entry per 256-byte
 * granule holds (base granule + 1) of the allocation covering it, 0 if none; the
 * allocation's requested size is stored at its base granule.
 */
export class AllocationTable {
  readonly owner: Int32Array;
  readonly size: Float64Array;
  /** At an allocation's base granule: the free epoch it was freed at (0 while live). */
  readonly freedAt: Int32Array;

  constructor(
    readonly ownerBuffer: SharedArrayBuffer,
    readonly sizeBuffer: SharedArrayBuffer,
    readonly freedBuffer: SharedArrayBuffer = new SharedArrayBuffer(ownerBuffer.byteLength),
  ) {
    this.owner = new Int32Array(ownerBuffer);
    this.size = new Float64Array(sizeBuffer);
    this.freedAt = new Int32Array(freedBuffer);
  }

  static create(heapBytes: number): AllocationTable {
    const granules = Math.ceil(heapBytes / GRANULE_BYTES);
    return new AllocationTable(new SharedArrayBuffer(granules * 4), new SharedArrayBuffer(granules * 8), new SharedArrayBuffer(granules * 4));
  }

  claim(offset: number, reservedBytes: number, requestedBytes: number): void {
    const g = offset / GRANULE_BYTES;
    this.size[g] = requestedBytes;
    Atomics.store(this.freedAt, g, 0);
    this.owner.fill(g + 1, g, g + reservedBytes / GRANULE_BYTES);
  }

  /** The allocation at `offset` was freed at free epoch `epoch`: kernels launched since may not use it. */
  retire(offset: number, epoch: number): void {
    Atomics.store(this.freedAt, offset / GRANULE_BYTES, epoch);
  }

  /** True if the allocation based at `base` was freed at or before free epoch `epoch` (wrap-safe). */
  freedBy(base: number, epoch: number): boolean {
    const freed = Atomics.load(this.freedAt, base / GRANULE_BYTES);
    return freed !== 0 && ((epoch - freed) | 0) >= 0;
  }

  clear(offset: number, reservedBytes: number): void {
    const g = offset / GRANULE_BYTES;
    this.owner.fill(0, g, g + reservedBytes / GRANULE_BYTES);
    this.size[g] = 0;
    Atomics.store(this.freedAt, g, 0);
  }

  /** Heap offset of the allocation holding all of [offset, offset + bytes), or -1. */
  find(offset: number, bytes: number): number {
    if (!(offset >= 0) || offset >= this.owner.length * GRANULE_BYTES) return -1;
    const base = this.owner[Math.floor(offset / GRANULE_BYTES)]! - 1;
    if (base < 0) return -1;
    const start = base * GRANULE_BYTES;
    return offset + bytes <= start + this.size[base]! ? start : -1;
  }

  reset(): void {
    this.owner.fill(0);
    this.size.fill(0);
    this.freedAt.fill(0);
  }
}

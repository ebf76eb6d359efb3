import { lowerBound } from './lower-bound.js';

/**
 * Best-fit allocator over [0, capacity): free ranges kept sorted by offset, split on
 * allocation and coalesced with both neighbours on release.
 */
export class RangeAllocator {
  readonly capacity: number;
  readonly alignment: number;
  #offsets: number[] = [];
  #sizes: number[] = [];
  #free: number;

  constructor(capacity: number, alignment: number) {
    this.capacity = capacity;
    this.alignment = alignment;
    this.#free = capacity;
    if (capacity > 0) {
      this.#offsets.push(0);
      this.#sizes.push(capacity);
    }
  }

  get freeBytes(): number {
    return this.#free;
  }

  get largestFreeRange(): number {
    let max = 0;
    for (const size of this.#sizes) if (size > max) max = size;
    return max;
  }

  /** Rounds a request up to the alignment. */
  roundUp(size: number): number {
    return Math.ceil(size / this.alignment) * this.alignment;
  }

  /** Returns the offset of `roundUp(size)` bytes, or -1 if no free range is large enough. */
  allocate(size: number): number {
    const need = this.roundUp(size);
    let best = -1;
    for (let i = 0; i < this.#sizes.length; i++) {
      const s = this.#sizes[i]!;
      if (s >= need && (best < 0 || s < this.#sizes[best]!)) {
        best = i;
        if (s === need) break;
      }
    }
    if (best < 0) return -1;
    const offset = this.#offsets[best]!;
    if (this.#sizes[best] === need) {
      this.#offsets.splice(best, 1);
      this.#sizes.splice(best, 1);
    } else {
      this.#offsets[best] = offset + need;
      this.#sizes[best]! -= need;
    }
    this.#free -= need;
    return offset;
  }

  /** Returns a range obtained from `allocate` (with the same size). */
  release(offset: number, size: number): void {
    const len = this.roundUp(size);
    // First free range after `offset`.
    const lo = lowerBound(this.#offsets, offset);
    const prev = lo - 1;
    const mergesPrev = prev >= 0 && this.#offsets[prev]! + this.#sizes[prev]! === offset;
    const mergesNext = lo < this.#offsets.length && offset + len === this.#offsets[lo]!;
    if (mergesPrev && mergesNext) {
      this.#sizes[prev]! += len + this.#sizes[lo]!;
      this.#offsets.splice(lo, 1);
      this.#sizes.splice(lo, 1);
    } else if (mergesPrev) {
      this.#sizes[prev]! += len;
    } else if (mergesNext) {
      this.#offsets[lo] = offset;
      this.#sizes[lo]! += len;
    } else {
      this.#offsets.splice(lo, 0, offset);
      this.#sizes.splice(lo, 0, len);
    }
    this.#free += len;
  }

  reset(): void {
    this.#offsets = this.capacity > 0 ? [0] : [];
    this.#sizes = this.capacity > 0 ? [this.capacity] : [];
    this.#free = this.capacity;
  }
}

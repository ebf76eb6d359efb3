import type { Stream } from '../../runtime/handles.js';
import type { Trace } from './call-site.js';
import { lowerBound } from '../../memory/lower-bound.js';

/** One access the sanitizer remembers: by which stream and command, to which bytes. */
export interface Access {
  stream: Stream;
  seq: number;
  call: string;
  write: boolean;
  start: number;
  end: number;
  trace: Trace;
}

/** A live allocation and the accesses to it not yet superseded. */
export interface Allocation {
  ptr: number;
  size: number;
  trace: Trace;
  accesses: Access[];
}

/** Live allocations of one device, by base pointer, searchable by any address inside. */
export class AllocationMap {
  readonly #bases: number[] = [];
  readonly #byBase = new Map<number, Allocation>();

  add(a: Allocation): void {
    const i = lowerBound(this.#bases, a.ptr);
    if (this.#bases[i] !== a.ptr) this.#bases.splice(i, 0, a.ptr);
    this.#byBase.set(a.ptr, a);
  }

  remove(ptr: number): Allocation | undefined {
    const a = this.#byBase.get(ptr);
    if (a === undefined) return undefined;
    this.#byBase.delete(ptr);
    this.#bases.splice(lowerBound(this.#bases, ptr), 1);
    return a;
  }

  /** The allocation containing `ptr`. */
  find(ptr: number): Allocation | undefined {
    const i = lowerBound(this.#bases, ptr + 1) - 1;
    if (i < 0) return undefined;
    const a = this.#byBase.get(this.#bases[i]!)!;
    return ptr < a.ptr + Math.max(a.size, 1) ? a : undefined;
  }
}

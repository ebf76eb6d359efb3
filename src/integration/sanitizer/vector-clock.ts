import type { Stream } from '../../runtime/handles.js';

/**
 * A vector clock over streams: for each stream, the last of its commands (by seq) known to
 * have happened before the point the clock describes. Absent streams are at 0 (nothing).
 */
export class VectorClock {
  readonly #entries = new Map<Stream, number>();

  get(stream: Stream): number {
    return this.#entries.get(stream) ?? 0;
  }

  /** Raises `stream`'s entry to at least `seq`. */
  advance(stream: Stream, seq: number): void {
    if (seq > (this.#entries.get(stream) ?? 0)) this.#entries.set(stream, seq);
  }

  /** Takes the entrywise maximum with `other`. */
  merge(other: VectorClock): void {
    for (const [stream, seq] of other.#entries) this.advance(stream, seq);
  }

  copy(): VectorClock {
    const out = new VectorClock();
    for (const [stream, seq] of this.#entries) out.#entries.set(stream, seq);
    return out;
  }

  /** True if command `seq` of `stream` happened before this point. */
  covers(stream: Stream, seq: number): boolean {
    return this.get(stream) >= seq;
  }

  forget(stream: Stream): void {
    this.#entries.delete(stream);
  }
}

import { MAX_EVENTS } from '../protocol/layout.js';
import type { EventState } from './handles.js';

/**
 * Slots of the shared event table. A destroyed event's slot is reused only once its
 * last record has completed, so a late record cannot write into a new event's slot.
 */
export class EventTable {
  readonly #free: number[] = [];
  #next = 0;
  #retired: EventState[] = [];
  /** Live events, so that a device reset can release the slots of the events it invalidates. */
  readonly #live = new Set<EventState>();
  /** Epochs are runtime-wide, so a reused slot never sees an old record's epoch again. */
  #epoch = 0;

  allocate(): number {
    if (this.#free.length === 0) this.#reclaim();
    if (this.#free.length > 0) return this.#free.pop()!;
    return this.#next < MAX_EVENTS ? this.#next++ : -1;
  }

  track(state: EventState): void {
    this.#live.add(state);
  }

  /** Releases the events of a device being reset: they become invalid handles. */
  releaseDevice(device: number): void {
    for (const state of this.#live) {
      if (state.device === device) {
        state.destroyed = true;
        this.release(state);
      }
    }
  }

  release(state: EventState): void {
    this.#live.delete(state);
    const r = state.record;
    if (r === undefined || r.queue.hasCompleted(r.seq)) this.#free.push(state.slot);
    else this.#retired.push(state);
  }

  nextEpoch(): number {
    this.#epoch = (this.#epoch + 1) | 0;
    if (this.#epoch === 0) this.#epoch = 1;
    return this.#epoch;
  }

  #reclaim(): void {
    this.#retired = this.#retired.filter((state) => {
      const r = state.record!;
      if (!r.queue.hasCompleted(r.seq)) return true;
      this.#free.push(state.slot);
      return false;
    });
  }
}

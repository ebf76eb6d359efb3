import { kEventState } from '../internal/symbols.js';
import type { StreamQueue } from './stream-queue.js';

/** The most recent record of an event: the position it captured in one stream. */
export interface EventRecord {
  queue: StreamQueue;
  /** Sequence number of the record command: complete once the stream has completed it. */
  seq: number;
  /** Epoch the worker stores when the record completes (with the timestamp). */
  epoch: number;
}

export interface EventState {
  /** The runtime that created the event. */
  owner: object;
  device: number;
  slot: number;
  timing: boolean;
  blockingSync: boolean;
  /** Device reset generation the event was created in. */
  generation: number;
  destroyed: boolean;
  record: EventRecord | undefined;
}

/** An event: a marker in a stream that can be waited on and timed (`cudaEvent_t`). */
export class Event {
  /** @internal */
  readonly [kEventState]: EventState;

  /** @internal */
  constructor(state: EventState) {
    this[kEventState] = state;
  }

  get device(): number {
    return this[kEventState].device;
  }

  /** False when created with `disableTiming`. */
  get timing(): boolean {
    return this[kEventState].timing;
  }

  /** Slot of the event in the shared event table. */
  get id(): number {
    return this[kEventState].slot;
  }

  toString(): string {
    return `Event(device ${this.device}, #${this.id})`;
  }
}

import { kEventState } from '../internal/symbols.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Stream } from './stream.js';
import type { StreamQueue } from './stream-queue.js';

/** The most recent record of an event: the position it captured in one stream. */
export interface EventRecord {
  queue: StreamQueue;
  /** Sequence number of the record command: complete once the stream has completed it. */
  seq: number;
  /** Epoch the worker stores when the record completes (with the timestamp). */
  epoch: number;
  /** Profiler correlation id of the eventRecord call (0 when not profiling). */
  correlation: number;
}

export interface EventState {
  /** The runtime that created the event. */
  owner: Runtime;
  /** -1 until a lazily bound event is first recorded. */
  device: number;
  /** Slot in the shared event table; -1 until bound. */
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

  /** The event's device; -1 for a lazily bound event not yet recorded. */
  get device(): number {
    return this[kEventState].device;
  }

  /** False when created with `disableTiming`. */
  get timing(): boolean {
    return this[kEventState].timing;
  }

  /** Slot of the event in the shared event table; -1 until bound. */
  get id(): number {
    return this[kEventState].slot;
  }

  /** Captures the work enqueued so far on `stream` (default: the current stream). */
  record(stream?: Stream): void {
    this[kEventState].owner.eventRecord(this, stream);
  }

  query(): boolean {
    return this[kEventState].owner.eventQuery(this);
  }

  synchronize(): Promise<void> {
    return this[kEventState].owner.eventSynchronize(this);
  }

  synchronizeSync(): void {
    this[kEventState].owner.eventSynchronizeSync(this);
  }

  /** Milliseconds from this event's completion to `end`'s. */
  elapsedTime(end: Event): number {
    return this[kEventState].owner.eventElapsedTime(this, end);
  }

  /** Makes later work on `stream` (default: the current stream) wait for this event. */
  wait(stream?: Stream): void {
    const owner = this[kEventState].owner;
    owner.streamWaitEvent(stream ?? owner.getCurrentStream(), this);
  }

  destroy(): void {
    this[kEventState].owner.eventDestroy(this);
  }

  toString(): string {
    return `Event(device ${this.device}, #${this.id})`;
  }
}

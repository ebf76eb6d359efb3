import type { StreamPosition, StreamQueue } from '../device/stream-queue.js';
import { kEventState, kOwner, kQueue } from './symbols.js';

/**
 * What the handles delegate to: the runtime that made them. Declared here, on the
 * handles' side, so the handles do not import the runtime.
 */
export interface HandleOwner {
  streamSynchronize(stream: Stream, options?: HandleWaitOptions): Promise<void>;
  streamSynchronizeSync(stream: Stream, options?: Pick<HandleWaitOptions, 'timeoutMs'>): void;
  streamQuery(stream: Stream): boolean;
  streamWaitEvent(stream: Stream, event: Event): void;
  streamWaitStream(stream: Stream, other: Stream): void;
  streamDestroy(stream: Stream): void;
  getCurrentStream(): Stream;
  lazyEvent(): Event;
  eventRecord(event: Event, stream?: Stream): void;
  eventQuery(event: Event): boolean;
  eventSynchronize(event: Event, options?: HandleWaitOptions): Promise<void>;
  eventSynchronizeSync(event: Event, options?: Pick<HandleWaitOptions, 'timeoutMs'>): void;
  eventElapsedTime(start: Event, end: Event): number;
  eventDestroy(event: Event): void;
}

/** Bounds of a wait (the runtime's WaitOptions). */
export interface HandleWaitOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

// Stream and Event name each other (a stream waits on events, an event is recorded on a
// stream), so the two handles share this module.

/** A stream: an ordered queue of work on one device (`cudaStream_t`, `torch.cuda.Stream`). */
export class Stream {
  /** @internal */
  readonly [kQueue]: StreamQueue;
  /** @internal */
  readonly [kOwner]: HandleOwner;

  /** @internal */
  constructor(queue: StreamQueue, owner: HandleOwner) {
    this[kQueue] = queue;
    this[kOwner] = owner;
  }

  /** The device the stream belongs to. */
  get device(): number {
    return this[kQueue].device.index;
  }

  /** The (clamped) priority: lower number = higher priority. */
  get priority(): number {
    return this[kQueue].priority;
  }

  get nonBlocking(): boolean {
    return this[kQueue].nonBlocking;
  }

  /** True for a device's legacy default stream. */
  get isDefault(): boolean {
    return this[kQueue].isDefault;
  }

  /** Index of the stream on its device (0 is the default stream). */
  get id(): number {
    return this[kQueue].index;
  }

  /** Resolves once all work enqueued so far has completed; `options` bound the wait. */
  synchronize(options?: HandleWaitOptions): Promise<void> {
    return this[kOwner].streamSynchronize(this, options);
  }

  synchronizeSync(options?: Pick<HandleWaitOptions, 'timeoutMs'>): void {
    this[kOwner].streamSynchronizeSync(this, options);
  }

  /** True iff all work enqueued so far has finished. */
  query(): boolean {
    return this[kOwner].streamQuery(this);
  }

  /** Later work on this stream waits for the event's current record. */
  waitEvent(event: Event): void {
    this[kOwner].streamWaitEvent(this, event);
  }

  /** Later work on this stream waits for all work enqueued on `other` so far. */
  waitStream(other: Stream): void {
    this[kOwner].streamWaitStream(this, other);
  }

  /** Records `event` (default: a new lazily bound event) on this stream and returns it. */
  recordEvent(event?: Event): Event {
    const e = event ?? this[kOwner].lazyEvent();
    this[kOwner].eventRecord(e, this);
    return e;
  }

  destroy(): void {
    this[kOwner].streamDestroy(this);
  }

  toString(): string {
    return `Stream(device ${this.device}, #${this.id}${this.isDefault ? ', default' : ''})`;
  }
}

/** The most recent record of an event: the position it captured in one stream. */
export interface EventRecord extends StreamPosition {
  /** Epoch the worker stores when the record completes (with the timestamp). */
  readonly epoch: number;
  /** Span of the eventRecord call (0 when not profiling). */
  readonly span: number;
}

/** What the runtime keeps of an event. */
export interface EventState {
  /** The runtime that created the event. */
  readonly owner: HandleOwner;
  /** -1 until a lazily bound event is first recorded. */
  device: number;
  /** Slot in the shared event table; -1 until bound. */
  slot: number;
  readonly timing: boolean;
  readonly blockingSync: boolean;
  /** Device reset generation the event was bound in. */
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

  synchronize(options?: HandleWaitOptions): Promise<void> {
    return this[kEventState].owner.eventSynchronize(this, options);
  }

  synchronizeSync(options?: Pick<HandleWaitOptions, 'timeoutMs'>): void {
    this[kEventState].owner.eventSynchronizeSync(this, options);
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

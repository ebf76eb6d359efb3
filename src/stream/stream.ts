import { kQueue, kRuntime } from '../internal/symbols.js';
import type { Runtime } from '../runtime/runtime.js';
import type { Event } from './event.js';
import type { StreamQueue } from './stream-queue.js';

/** A stream: an ordered queue of work on one device (`cudaStream_t`, `torch.cuda.Stream`). */
export class Stream {
  /** @internal */
  readonly [kQueue]: StreamQueue;
  /** @internal */
  readonly [kRuntime]: Runtime;

  /** @internal */
  constructor(queue: StreamQueue, runtime: Runtime) {
    this[kQueue] = queue;
    this[kRuntime] = runtime;
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

  /** Resolves once all work enqueued so far has completed. */
  synchronize(): Promise<void> {
    return this[kRuntime].streamSynchronize(this);
  }

  synchronizeSync(): void {
    this[kRuntime].streamSynchronizeSync(this);
  }

  /** True iff all work enqueued so far has finished. */
  query(): boolean {
    return this[kRuntime].streamQuery(this);
  }

  /** Later work on this stream waits for the event's current record. */
  waitEvent(event: Event): void {
    this[kRuntime].streamWaitEvent(this, event);
  }

  /** Later work on this stream waits for all work enqueued on `other` so far. */
  waitStream(other: Stream): void {
    this[kRuntime].streamWaitStream(this, other);
  }

  /** Records `event` (default: a new lazily bound event) on this stream and returns it. */
  recordEvent(event?: Event): Event {
    const e = event ?? this[kRuntime].lazyEvent();
    this[kRuntime].eventRecord(e, this);
    return e;
  }

  destroy(): void {
    this[kRuntime].streamDestroy(this);
  }

  toString(): string {
    return `Stream(device ${this.device}, #${this.id}${this.isDefault ? ', default' : ''})`;
  }
}

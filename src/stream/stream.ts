import { kQueue } from '../internal/symbols.js';
import type { StreamQueue } from './stream-queue.js';

/** A stream: an ordered queue of work on one device (`cudaStream_t`). */
export class Stream {
  /** @internal */
  readonly [kQueue]: StreamQueue;

  /** @internal */
  constructor(queue: StreamQueue) {
    this[kQueue] = queue;
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

  toString(): string {
    return `Stream(device ${this.device}, #${this.id}${this.isDefault ? ', default' : ''})`;
  }
}

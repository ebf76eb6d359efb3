import type { StreamQueue } from './stream-queue.js';

/**
 * Streams whose commands wait on the host because their ring was full at a moment when
 * blocking the main thread could deadlock (a host function still has to run or settle).
 * Flushed, in order, as the device frees ring slots.
 */
const NO_DEVICES: readonly StreamQueue['device'][] = [];

export class Backlogs {
  readonly #queues = new Set<StreamQueue>();
  readonly #onPending: () => void;

  /** `onPending` is called when a queue starts a backlog: something must flush it later. */
  constructor(onPending: () => void) {
    this.#onPending = onPending;
  }

  get pending(): boolean {
    return this.#queues.size > 0;
  }

  add(queue: StreamQueue): void {
    this.#queues.add(queue);
    this.#onPending();
  }

  /** Writes what fits into the rings. */
  flush(): void {
    if (this.#queues.size === 0) return;
    for (const q of this.#queues) if (q.flushBacklog()) this.#queues.delete(q);
  }

  /** The devices to watch for freed slots. */
  watched(): readonly StreamQueue['device'][] {
    if (this.#queues.size === 0) return NO_DEVICES;
    return [...new Set([...this.#queues].map((q) => q.device))];
  }

  /** True if a backlogged queue still holds commands for record `index` of `device`. */
  holdsRecord(device: number, index: number): boolean {
    for (const q of this.#queues) if (q.device.index === device && q.index === index) return true;
    return false;
  }

  /** Backlogged commands of `device`, as a queue's last logical sequence number per record. */
  pendingSeqs(device: number): Map<number, number> {
    const seqs = new Map<number, number>();
    for (const q of this.#queues) if (q.device.index === device) seqs.set(q.index, q.submitted);
    return seqs;
  }

  /** Drops the backlog of a device that was reset or lost: that work is discarded. */
  dropDevice(device: number): void {
    for (const q of this.#queues) {
      if (q.device.index === device) {
        q.dropBacklog();
        this.#queues.delete(q);
      }
    }
  }
}

import { openRegError } from '../errors/errors.js';
import { CommandWriter, type KernelArg, kernelSlots } from '../protocol/command.js';
import { DEFAULT_STREAM_INDEX, StreamWord, streamWordIndex } from '../protocol/layout.js';
import { RingProducer } from '../protocol/stream-ring.js';
import { commandRan } from '../protocol/sticky-error.js';
import type { DeferredReads } from './deferred-reads.js';

/** A point in one stream's work: complete once the stream has completed command `seq`. */
export interface StreamPosition {
  readonly queue: StreamQueue;
  readonly seq: number;
}

/** True once the stream has completed the work the position marks. */
export function reached(position: StreamPosition): boolean {
  return position.queue.hasCompleted(position.seq);
}

/** Reports a wait the queue added on its own (CUDA's legacy default stream ordering). */
/** `enqueued` is false for a wait with nothing left to wait for (reported for the ordering it states). */
export type ImplicitWaitListener = (queue: StreamQueue, seq: number, on: StreamQueue, onSeq: number, call: string, enqueued: boolean) => void;

/** What a stream queue needs of its device: narrow, so queues do not depend on the device class. */
export interface QueueOwner {
  readonly index: number;
  readonly control: Int32Array;
  readonly controlBuffer: SharedArrayBuffer;
  /** Device reset generation: streams of older generations are invalid. */
  readonly generation: number;
  readonly isLost: boolean;
  readonly defaultStream: StreamQueue;
  /** Non-default streams without `nonBlocking`, for the legacy default stream. */
  readonly blockingStreams: readonly StreamQueue[];
  /** Drops destroyed streams the default stream no longer needs to wait for. */
  pruneBlockingStreams(): void;
  /** Called by a full ring: true once `slots` slots are free; false when blocking could deadlock (backlog it). */
  waitForRingSpace(queue: StreamQueue, slots: number, call: string): boolean;
  /** The queue started a backlog: something must flush it from the event loop. */
  backlogStarted(queue: StreamQueue): void;
  /** Free epoch of the device's memory, stamped into each launch. */
  readonly freeEpoch: number;
  /** Throws the device's sticky error, if it has one. */
  throwIfFailed(call: string): void;
  /** Set while someone observes the runtime. */
  readonly onImplicitWait: ImplicitWaitListener | undefined;
  /** Host reads waiting to copy straight out of device memory: staged before anything is enqueued. */
  readonly deferredReads: DeferredReads;
}

/**
 * Commands one stream may hold on the host behind a host function (the backlog): each
 * costs a closure and its arguments, so a loop launching behind a gate that never opens
 * fails here instead of growing the heap without bound.
 */
export const MAX_BACKLOG = 65_536;

interface DeferredCommand {
  slots: number;
  write: (slot: number) => void;
}

/**
 * The producer side of one stream, on the main thread: encodes commands into its ring
 * and publishes each with one atomic store. No allocation per command, except in the
 * backlog (a full ring at a moment when blocking could deadlock).
 */
export class StreamQueue {
  readonly device: QueueOwner;
  readonly index: number;
  readonly priority: number;
  readonly nonBlocking: boolean;
  readonly isDefault: boolean;
  /** Device reset generation the stream was created in (default streams outlive resets). */
  readonly generation: number;
  /** Int32 index of the record header in the device control block. */
  readonly header: number;
  readonly completedIndex: number;
  /** Sequence number of the last command enqueued (published, or waiting in the backlog), as a count: it never wraps. */
  submitted: number;
  /** Legacy default stream: the default stream's last command this stream already waits for. */
  syncedDefault = Number.NaN;
  /** Legacy default stream: this stream's last command the default stream already waits for. */
  syncedIntoDefault: number;
  destroyed = false;
  readonly #writer: CommandWriter;
  #reused = false;
  readonly #ring: RingProducer;
  /** Commands that did not fit in the ring when blocking was unsafe, in order. */
  readonly #backlog: DeferredCommand[] = [];

  constructor(device: QueueOwner, index: number, priority: number, nonBlocking: boolean) {
    this.device = device;
    this.index = index;
    this.priority = priority;
    this.nonBlocking = nonBlocking;
    this.isDefault = index === DEFAULT_STREAM_INDEX;
    this.generation = device.generation;
    this.header = streamWordIndex(index, 0);
    this.completedIndex = this.header + StreamWord.COMPLETED;
    this.#writer = new CommandWriter(device.controlBuffer, index);
    this.#ring = new RingProducer(device.control, index);
    this.submitted = this.syncedIntoDefault = this.#ring.written;
  }

  /** Correlation id stamped into the commands enqueued now (the profiler's; 0 = none). */
  set correlation(id: number) {
    this.#writer.correlation = id;
  }

  /** True once command `seq` of this stream has completed (counts, not int32 words: no wrap). */
  hasCompleted(seq: number): boolean {
    return this.#reused || this.#ring.completed() >= seq;
  }

  /**
   * Whether command `seq` really ran: undefined while it is pending, false if it completed
   * only because the device had failed (a failed device skips commands so nothing hangs).
   */
  ran(seq: number): boolean | undefined {
    if (!this.hasCompleted(seq)) return undefined;
    return this.#reused || commandRan(this.device.control, this.index, seq | 0);
  }

  get idle(): boolean {
    return this.#reused || this.#ring.completed() === this.submitted;
  }

  /**
   * The destroyed stream's record now serves another stream: it was drained first, so all
   * of this stream's work has completed, and its counters are no longer this stream's.
   */
  recordReused(): void {
    this.#reused = true;
  }

  /**
   * True if a command enqueued now could run at once: this stream and every stream the
   * legacy default stream would order it after have finished their work.
   */
  get readyNow(): boolean {
    if (!this.idle) return false;
    if (this.nonBlocking) return true;
    if (!this.isDefault) return this.device.defaultStream.idle;
    const blocking = this.device.blockingStreams;
    for (let i = 0; i < blocking.length; i++) if (!blocking[i]!.idle) return false;
    return true;
  }

  /** What a main-thread wait for command `seq` of this stream is woken by: that position only. */
  position(seq: number): { control: Int32Array; stream: number; seq: number } {
    // A position still in the backlog is not in the ring yet: woken at the last one that is (the backlog then flushes).
    return { control: this.device.control, stream: this.index, seq: this.#ring.wordOf(Math.min(seq, this.#ring.written)) };
  }

  /** The position whose completion leaves `slots` ring slots free: a full ring's producer waits there. */
  positionFreeing(slots: number): { control: Int32Array; stream: number; seq: number } {
    return this.position(this.#ring.countFreeing(slots));
  }

  /** Free ring slots, from the worker's current position. */
  freeSlots(): number {
    return this.#ring.freeSlots();
  }

  /** A kernel launch's ordering: the legacy default stream adds no wait in the common case, checked inline, ordered out of line. */
  #orderKernelAgainstDefault(call: string): void {
    if (this.device.deferredReads.pending !== 0) this.device.deferredReads.stageAll();
    if (!this.nonBlocking && (this.isDefault ? this.device.blockingStreams.length > 0 : this.device.defaultStream.submitted !== this.syncedDefault)) {
      this.#orderAgainstDefault(call);
    }
  }

  enqueueKernel(kernelId: number, args: readonly KernelArg[], call: string): number {
    this.#orderKernelAgainstDefault(call);
    const slots = kernelSlots(args.length);
    // The hot path: kept small so that it inlines into the caller.
    if (this.#backlog.length === 0 && this.#ring.hasRoom(slots)) {
      this.#writer.writeKernel(this.#ring.writeSlot, kernelId, args, this.device.freeEpoch);
      return this.#publish(slots);
    }
    return this.#enqueueKernelSlow(kernelId, args, call, slots);
  }

  #enqueueKernelSlow(kernelId: number, args: readonly KernelArg[], call: string, slots: number): number {
    // The epoch as of this call: a free after it, before the backlog flushes, must not count.
    const epoch = this.device.freeEpoch;
    if (!this.#room(slots, call)) {
      const copy = args.slice();
      return this.#defer(slots, (slot) => this.#writer.writeKernel(slot, kernelId, copy, epoch), call);
    }
    this.#writer.writeKernel(this.#ring.writeSlot, kernelId, args, epoch);
    return this.#publish(slots);
  }

  /**
   * A typed kernel: `count` argument words from `words[0]` inline, or (with `blockPtr`) an
   * argument block already stream-ordered into device memory.
   */
  enqueueTypedKernel(kernelId: number, words: Float64Array, count: number, blockPtr: number | undefined, call: string): number {
    this.#orderKernelAgainstDefault(call);
    const slots = blockPtr === undefined ? kernelSlots(count) : 1;
    const epoch = this.device.freeEpoch;
    if (this.#backlog.length === 0 && this.#ring.hasRoom(slots)) {
      this.#writeTyped(this.#ring.writeSlot, kernelId, words, count, blockPtr, epoch);
      return this.#publish(slots);
    }
    if (!this.#room(slots, call)) {
      const copy = words.slice(0, blockPtr === undefined ? count : 0);
      return this.#defer(slots, (slot) => this.#writeTyped(slot, kernelId, copy, count, blockPtr, epoch), call);
    }
    this.#writeTyped(this.#ring.writeSlot, kernelId, words, count, blockPtr, epoch);
    return this.#publish(slots);
  }

  #writeTyped(slot: number, kernelId: number, words: Float64Array, count: number, blockPtr: number | undefined, epoch: number): void {
    if (blockPtr === undefined) this.#writer.writeTypedKernel(slot, kernelId, words, count, epoch);
    else this.#writer.writeIndirectKernel(slot, kernelId, blockPtr, count, epoch);
  }

  enqueueCopy(srcSpace: number, srcOffset: number, dstSpace: number, dstOffset: number, bytes: number, call: string): number {
    this.#orderAgainstDefault(call);
    if (!this.#room(1, call)) return this.#defer(1, (slot) => this.#writer.writeCopy(slot, srcSpace, srcOffset, dstSpace, dstOffset, bytes), call);
    this.#writer.writeCopy(this.#ring.writeSlot, srcSpace, srcOffset, dstSpace, dstOffset, bytes);
    return this.#publish(1);
  }

  enqueueMemset(space: number, offset: number, value: number, count: number, call: string): number {
    this.#orderAgainstDefault(call);
    if (!this.#room(1, call)) return this.#defer(1, (slot) => this.#writer.writeMemset(slot, space, offset, value, count), call);
    this.#writer.writeMemset(this.#ring.writeSlot, space, offset, value, count);
    return this.#publish(1);
  }

  enqueueRecordEvent(eventSlot: number, epoch: number, timing: boolean, call: string): number {
    this.#orderAgainstDefault(call);
    if (!this.#room(1, call)) return this.#defer(1, (slot) => this.#writer.writeRecordEvent(slot, eventSlot, epoch, timing), call);
    this.#writer.writeRecordEvent(this.#ring.writeSlot, eventSlot, epoch, timing);
    return this.#publish(1);
  }

  /** Later work on this stream waits until `on` has completed `seq`. */
  enqueueWait(on: StreamQueue, seq: number, call: string): number {
    this.#orderAgainstDefault(call);
    return this.#wait(on, seq, call);
  }

  enqueueHostFunction(call: string): number {
    this.#orderAgainstDefault(call);
    if (!this.#room(1, call)) return this.#defer(1, (slot) => this.#writer.writeHostFunction(slot), call);
    this.#writer.writeHostFunction(this.#ring.writeSlot);
    return this.#publish(1);
  }

  /** A no-op command: completes once all earlier work of the stream has. */
  enqueueMarker(call: string): number {
    this.#orderAgainstDefault(call);
    if (!this.#room(1, call)) return this.#defer(1, (slot) => this.#writer.writeNop(slot), call);
    this.#writer.writeNop(this.#ring.writeSlot);
    return this.#publish(1);
  }

  /** Writes the backlogged commands that fit; true once the backlog is empty. */
  flushBacklog(): boolean {
    let n = 0;
    for (; n < this.#backlog.length; n++) {
      const { slots, write } = this.#backlog[n]!;
      if (this.#ring.freeSlots() < slots) break;
      write(this.#ring.writeSlot);
      this.#ring.advance(slots);
    }
    if (n > 0) {
      this.#backlog.splice(0, n);
      this.#ring.publish();
    }
    return this.#backlog.length === 0;
  }

  /** Forgets commands never written to the ring (device reset or loss). */
  dropBacklog(): void {
    this.#backlog.length = 0;
    this.submitted = this.#ring.written;
  }

  /**
   * CUDA's legacy default stream: work on it waits for all earlier work on the device's
   * blocking streams, and work on a blocking stream waits for earlier default-stream work.
   */
  #orderAgainstDefault(call: string): void {
    if (this.device.deferredReads.pending !== 0) this.device.deferredReads.stageAll();
    if (this.nonBlocking) return;
    if (this.isDefault) {
      const blocking = this.device.blockingStreams;
      if (blocking.length === 0) return;
      for (let i = 0; i < blocking.length; i++) {
        const b = blocking[i]!;
        if (b.submitted === b.syncedIntoDefault) continue;
        b.syncedIntoDefault = b.submitted;
        if (!b.hasCompleted(b.submitted)) this.#implicitWait(b, call);
        else this.device.onImplicitWait?.(this, this.submitted, b, b.submitted, call, false);
      }
      this.device.pruneBlockingStreams();
      return;
    }
    const d = this.device.defaultStream;
    if (d.submitted === this.syncedDefault) return;
    this.syncedDefault = d.submitted;
    if (!d.hasCompleted(d.submitted)) this.#implicitWait(d, call);
    // Already done: no command is needed, but observers (the sanitizer) still learn the ordering.
    else this.device.onImplicitWait?.(this, this.submitted, d, d.submitted, call, false);
  }

  #implicitWait(on: StreamQueue, call: string): void {
    const seq = this.#wait(on, on.submitted, call);
    this.device.onImplicitWait?.(this, seq, on, on.submitted, call, true);
  }

  #wait(on: StreamQueue, seq: number, call: string): number {
    const device = on.device.index;
    const index = on.index;
    if (!this.#room(1, call)) return this.#defer(1, (slot) => this.#writer.writeWait(slot, device, index, seq), call);
    this.#writer.writeWait(this.#ring.writeSlot, device, index, seq);
    return this.#publish(1);
  }

  /**
   * True if `slots` slots can be written now. A full ring blocks (boundedly, servicing
   * host functions) until the worker catches up; when blocking could deadlock, the
   * command goes to the backlog instead.
   */
  #room(slots: number, call: string): boolean {
    if (this.#backlog.length > 0) return false;
    return this.#ring.hasRoom(slots) || this.device.waitForRingSpace(this, slots, call);
  }

  #defer(slots: number, write: (slot: number) => void, call: string): number {
    if (this.#backlog.length >= MAX_BACKLOG) throw openRegError('backlogFull', { call, count: this.#backlog.length }, this.device.index);
    this.#backlog.push({ slots, write });
    if (this.#backlog.length === 1) this.device.backlogStarted(this);
    return ++this.submitted;
  }

  /** Publishes the command just written at the write slot (the backlog is empty). */
  #publish(slots: number): number {
    return (this.submitted = this.#ring.commit(slots));
  }
}

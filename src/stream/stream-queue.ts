import { ArgTag, CmdF64, CmdI32, Op, SLOTS_SHIFT } from '../protocol/command.js';
import { DEFAULT_STREAM_INDEX, DeviceWord, RING_MASK, RING_SLOTS, StreamWord, ringF64Base, ringI32Base, streamWordIndex } from '../protocol/layout.js';
import { ringDoorbell } from '../protocol/wake.js';
import type { Device } from '../runtime/device.js';

/** A kernel argument as it crosses into the ring. */
export type KernelArg = number | bigint | boolean;

const BIGUINT_TAG = 3;
const INT64_MIN = -(2n ** 63n);
const INT64_LIMIT = 2n ** 63n;
const UINT64_LIMIT = 2n ** 64n;

/** Slots a kernel launch with `argc` arguments occupies. */
export function kernelSlots(argc: number): number {
  return (CmdF64.ARGS + argc + 7) >>> 3;
}

export function isEncodableBigInt(value: bigint): boolean {
  return value >= INT64_MIN && value < UINT64_LIMIT;
}

/** At most RING_SLOTS commands are outstanding: a log twice that size never wraps onto one. */
const SLOT_LOG_MASK = 2 * RING_SLOTS - 1;

interface DeferredCommand {
  slots: number;
  write: (slot: number) => void;
}

/**
 * The producer side of one stream ring, on the main thread: writes a command's words
 * into its slots and publishes it with one atomic store. No allocation per command,
 * except in the backlog (a full ring at a moment when blocking could deadlock).
 */
export class StreamQueue {
  readonly device: Device;
  readonly index: number;
  readonly priority: number;
  readonly nonBlocking: boolean;
  readonly isDefault: boolean;
  /** Device reset generation the stream was created in (default streams outlive resets). */
  readonly generation: number;
  /** Int32 index of the record header in the device control block. */
  readonly header: number;
  readonly completedIndex: number;
  /** Sequence number of the last command enqueued (published, or waiting in the backlog). */
  submitted: number;
  /** Legacy default stream: the default stream's last command this stream already waits for. */
  syncedDefault = Number.NaN;
  /** Legacy default stream: this stream's last command the default stream already waits for. */
  syncedIntoDefault: number;
  destroyed = false;
  readonly #i32: Int32Array;
  readonly #f64: Float64Array;
  readonly #i64: BigInt64Array;
  readonly #u64: BigUint64Array;
  readonly #ringI32: number;
  readonly #ringF64: number;
  #writeSlot: number;
  /** The worker's slot cursor as last derived: re-derived only when the ring looks full. */
  #consumed: number;
  /** Write cursor after each published command (by sequence number), to derive the worker's cursor from COMPLETED. */
  readonly #slotAfter = new Int32Array(2 * RING_SLOTS);
  /** Sequence number of the last command published to the ring (its SUBMITTED word). */
  #published: number;
  /** Commands that did not fit in the ring when blocking was unsafe, in order. */
  readonly #backlog: DeferredCommand[] = [];

  constructor(device: Device, index: number, priority: number, nonBlocking: boolean) {
    this.device = device;
    this.index = index;
    this.priority = priority;
    this.nonBlocking = nonBlocking;
    this.isDefault = index === DEFAULT_STREAM_INDEX;
    this.generation = device.generation;
    this.header = streamWordIndex(index, 0);
    this.completedIndex = this.header + StreamWord.COMPLETED;
    this.#i32 = device.control;
    this.#f64 = device.controlF64;
    this.#i64 = device.controlI64;
    this.#u64 = device.controlU64;
    this.#ringI32 = ringI32Base(index);
    this.#ringF64 = ringF64Base(index);
    this.submitted = this.#published = Atomics.load(this.#i32, this.header + StreamWord.SUBMITTED);
    this.#writeSlot = this.#consumed = Atomics.load(this.#i32, this.header + StreamWord.READ_SLOT);
    this.#slotAfter[this.#published & SLOT_LOG_MASK] = this.#writeSlot;
    this.syncedIntoDefault = this.submitted;
  }

  /** True once command `seq` of this stream has completed. */
  hasCompleted(seq: number): boolean {
    return ((Atomics.load(this.#i32, this.completedIndex) - seq) | 0) >= 0;
  }

  get idle(): boolean {
    return Atomics.load(this.#i32, this.completedIndex) === this.submitted;
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

  /** Free ring slots, from the worker's current position. */
  freeSlots(): number {
    this.#consumed = this.#slotAfter[Atomics.load(this.#i32, this.completedIndex) & SLOT_LOG_MASK]!;
    return RING_SLOTS - ((this.#writeSlot - this.#consumed) | 0);
  }

  enqueueKernel(kernelId: number, args: readonly KernelArg[], call: string): number {
    this.#orderAgainstDefault(call);
    const slots = kernelSlots(args.length);
    if (!this.#room(slots, call)) {
      const copy = args.slice();
      return this.#defer(slots, (slot) => this.#writeKernel(slot, slots, kernelId, copy));
    }
    this.#writeKernel(this.#writeSlot, slots, kernelId, args);
    return this.#publish(slots);
  }

  enqueueCopy(srcSpace: number, srcOffset: number, dstSpace: number, dstOffset: number, bytes: number, call: string): number {
    this.#orderAgainstDefault(call);
    if (!this.#room(1, call)) return this.#defer(1, (slot) => this.#writeCopy(slot, srcSpace, srcOffset, dstSpace, dstOffset, bytes));
    this.#writeCopy(this.#writeSlot, srcSpace, srcOffset, dstSpace, dstOffset, bytes);
    return this.#publish(1);
  }

  enqueueMemset(space: number, offset: number, value: number, count: number, call: string): number {
    this.#orderAgainstDefault(call);
    if (!this.#room(1, call)) return this.#defer(1, (slot) => this.#writeMemset(slot, space, offset, value, count));
    this.#writeMemset(this.#writeSlot, space, offset, value, count);
    return this.#publish(1);
  }

  enqueueRecordEvent(eventSlot: number, epoch: number, timing: boolean, call: string): number {
    this.#orderAgainstDefault(call);
    if (!this.#room(1, call)) return this.#defer(1, (slot) => this.#writeRecordEvent(slot, eventSlot, epoch, timing));
    this.#writeRecordEvent(this.#writeSlot, eventSlot, epoch, timing);
    return this.#publish(1);
  }

  /** Later work on this stream waits until stream (device, index) has completed `seq`. */
  enqueueWait(device: number, index: number, seq: number, call: string): number {
    this.#orderAgainstDefault(call);
    return this.#wait(device, index, seq, call);
  }

  enqueueHostFunction(call: string): number {
    this.#orderAgainstDefault(call);
    return this.#simple(Op.HOST_FUNC, call);
  }

  /** A no-op command: completes once all earlier work of the stream has. */
  enqueueMarker(call: string): number {
    this.#orderAgainstDefault(call);
    return this.#simple(Op.NOP, call);
  }

  /** Writes the backlogged commands that fit; true once the backlog is empty. */
  flushBacklog(): boolean {
    let n = 0;
    for (; n < this.#backlog.length; n++) {
      const { slots, write } = this.#backlog[n]!;
      if (this.freeSlots() < slots) break;
      write(this.#writeSlot);
      this.#writeSlot = (this.#writeSlot + slots) | 0;
      this.#published = (this.#published + 1) | 0;
      this.#slotAfter[this.#published & SLOT_LOG_MASK] = this.#writeSlot;
    }
    if (n > 0) {
      this.#backlog.splice(0, n);
      this.#store();
    }
    return this.#backlog.length === 0;
  }

  /** Forgets commands never written to the ring (device reset or loss). */
  dropBacklog(): void {
    this.#backlog.length = 0;
    this.submitted = this.#published;
  }

  /**
   * CUDA's legacy default stream: work on it waits for all earlier work on the device's
   * blocking streams, and work on a blocking stream waits for earlier default-stream work.
   */
  #orderAgainstDefault(call: string): void {
    if (this.nonBlocking) return;
    if (this.isDefault) {
      const blocking = this.device.blockingStreams;
      for (let i = 0; i < blocking.length; i++) {
        const b = blocking[i]!;
        if (b.submitted === b.syncedIntoDefault) continue;
        b.syncedIntoDefault = b.submitted;
        if (!b.hasCompleted(b.submitted)) this.#wait(this.device.index, b.index, b.submitted, call);
      }
      this.device.pruneBlockingStreams();
      return;
    }
    const d = this.device.defaultStream;
    if (d.submitted === this.syncedDefault) return;
    this.syncedDefault = d.submitted;
    if (!d.hasCompleted(d.submitted)) this.#wait(this.device.index, d.index, d.submitted, call);
  }

  #wait(device: number, index: number, seq: number, call: string): number {
    if (!this.#room(1, call)) return this.#defer(1, (slot) => this.#writeWait(slot, device, index, seq));
    this.#writeWait(this.#writeSlot, device, index, seq);
    return this.#publish(1);
  }

  #simple(op: number, call: string): number {
    if (!this.#room(1, call)) return this.#defer(1, (slot) => this.#writeHeader(slot, op, 1));
    this.#writeHeader(this.#writeSlot, op, 1);
    return this.#publish(1);
  }

  /**
   * True if `slots` slots can be written now. A full ring blocks (boundedly, servicing
   * host functions) until the worker catches up; when blocking could deadlock, the
   * command goes to the backlog instead.
   */
  #room(slots: number, call: string): boolean {
    if (this.#backlog.length > 0) return false;
    // The cached position never overstates free space: the worker only moves forward.
    if (RING_SLOTS - ((this.#writeSlot - this.#consumed) | 0) >= slots || this.freeSlots() >= slots) return true;
    return this.device.waitForRingSpace(this, slots, call);
  }

  #defer(slots: number, write: (slot: number) => void): number {
    this.#backlog.push({ slots, write });
    if (this.#backlog.length === 1) this.device.backlogs.add(this);
    return (this.submitted = (this.submitted + 1) | 0);
  }

  /** Publishes the command just written at the write slot (the backlog is empty). */
  #publish(slots: number): number {
    this.#writeSlot = (this.#writeSlot + slots) | 0;
    const seq = (this.submitted = this.#published = (this.#published + 1) | 0);
    this.#slotAfter[seq & SLOT_LOG_MASK] = this.#writeSlot;
    this.#store();
    return seq;
  }

  #store(): void {
    Atomics.store(this.#i32, this.header + StreamWord.SUBMITTED, this.#published);
    // The worker announces sleep before its last look at the rings: ring only then.
    if (Atomics.load(this.#i32, DeviceWord.SLEEPING) !== 0) ringDoorbell(this.#i32);
  }

  // Writers fill a command's words; the header word goes last, then SUBMITTED is stored.

  #writeHeader(slot: number, op: number, slots: number): void {
    const at = this.#ringI32 + ((slot & RING_MASK) << 4);
    this.#i32[at + CmdI32.CORRELATION] = this.device.correlation;
    this.#i32[at] = op | (slots << SLOTS_SHIFT);
  }

  #writeKernel(slot: number, slots: number, kernelId: number, args: readonly KernelArg[]): void {
    const argc = args.length;
    const i32 = this.#i32;
    const at = this.#ringI32 + ((slot & RING_MASK) << 4);
    i32[at + CmdI32.ARGC] = argc;
    i32[at + CmdI32.KERNEL_ID] = kernelId;
    for (let w = 0; w < (argc + 15) >>> 4; w++) i32[at + CmdI32.ARG_TAGS + w] = 0;
    for (let k = 0; k < argc; k++) {
      const arg = args[k]!;
      const word = CmdF64.ARGS + k;
      const i = this.#ringF64 + ((((slot + (word >>> 3)) & RING_MASK) << 3) | (word & 7));
      let tag: number = ArgTag.NUMBER;
      if (typeof arg === 'number') this.#f64[i] = arg;
      else if (typeof arg === 'boolean') {
        this.#f64[i] = arg ? 1 : 0;
        tag = ArgTag.BOOLEAN;
      } else if (arg < INT64_LIMIT) {
        this.#i64[i] = arg;
        tag = ArgTag.BIGINT;
      } else {
        this.#u64[i] = arg;
        tag = BIGUINT_TAG;
      }
      if (tag !== 0) i32[at + CmdI32.ARG_TAGS + (k >>> 4)]! |= tag << ((k & 15) << 1);
    }
    this.#writeHeader(slot, Op.KERNEL, slots);
  }

  #writeCopy(slot: number, srcSpace: number, srcOffset: number, dstSpace: number, dstOffset: number, bytes: number): void {
    const at = this.#ringI32 + ((slot & RING_MASK) << 4);
    const f = this.#ringF64 + ((slot & RING_MASK) << 3);
    this.#i32[at + CmdI32.SRC_SPACE] = srcSpace;
    this.#i32[at + CmdI32.DST_SPACE] = dstSpace;
    this.#f64[f + CmdF64.SRC_OFFSET] = srcOffset;
    this.#f64[f + CmdF64.DST_OFFSET] = dstOffset;
    this.#f64[f + CmdF64.BYTES] = bytes;
    this.#writeHeader(slot, Op.COPY, 1);
  }

  #writeMemset(slot: number, space: number, offset: number, value: number, count: number): void {
    const at = this.#ringI32 + ((slot & RING_MASK) << 4);
    const f = this.#ringF64 + ((slot & RING_MASK) << 3);
    this.#i32[at + CmdI32.VALUE] = value;
    this.#i32[at + CmdI32.MEMSET_SPACE] = space;
    this.#f64[f + CmdF64.OFFSET] = offset;
    this.#f64[f + CmdF64.COUNT] = count;
    this.#writeHeader(slot, Op.MEMSET, 1);
  }

  #writeRecordEvent(slot: number, eventSlot: number, epoch: number, timing: boolean): void {
    const at = this.#ringI32 + ((slot & RING_MASK) << 4);
    this.#i32[at + CmdI32.EVENT_SLOT] = eventSlot;
    this.#i32[at + CmdI32.EVENT_EPOCH] = epoch;
    this.#i32[at + CmdI32.EVENT_TIMING] = timing ? 1 : 0;
    this.#writeHeader(slot, Op.RECORD_EVENT, 1);
  }

  #writeWait(slot: number, device: number, index: number, seq: number): void {
    const at = this.#ringI32 + ((slot & RING_MASK) << 4);
    this.#i32[at + CmdI32.WAIT_DEVICE] = device;
    this.#i32[at + CmdI32.WAIT_STREAM] = index;
    this.#i32[at + CmdI32.WAIT_SEQ] = seq;
    this.#writeHeader(slot, Op.WAIT_STREAM, 1);
  }
}

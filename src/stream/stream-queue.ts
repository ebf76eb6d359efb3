import { ArgTag, CmdF64, CmdI32, Op, SLOTS_SHIFT } from '../protocol/command.js';
import { DEFAULT_STREAM_INDEX, DeviceWord, RING_MASK, RING_SLOTS, StreamWord, ringF64Base, ringI32Base, streamWordIndex } from '../protocol/layout.js';
import { ringDoorbell } from '../protocol/sticky-error.js';
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

/**
 * The producer side of one stream ring, on the main thread: writes commands into
 * slots and publishes them with one atomic store. No allocation per command.
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
  readonly #i32: Int32Array;
  readonly #f64: Float64Array;
  readonly #i64: BigInt64Array;
  readonly #u64: BigUint64Array;
  readonly #ringI32: number;
  readonly #ringF64: number;
  #writeSlot: number;
  /** Mirror of SUBMITTED: sequence number of the last published command. */
  submitted: number;
  /** Legacy default stream: the default stream's last command this stream already waits for. */
  syncedDefault = Number.NaN;
  /** Legacy default stream: this stream's last command the default stream already waits for. */
  syncedIntoDefault: number;
  destroyed = false;

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
    this.submitted = Atomics.load(this.#i32, this.header + StreamWord.SUBMITTED);
    this.#writeSlot = Atomics.load(this.#i32, this.header + StreamWord.READ_SLOT);
    this.syncedIntoDefault = this.submitted;
  }

  get completed(): number {
    return Atomics.load(this.#i32, this.completedIndex);
  }

  /** True once command `seq` of this stream has completed. */
  hasCompleted(seq: number): boolean {
    return ((Atomics.load(this.#i32, this.completedIndex) - seq) | 0) >= 0;
  }

  get idle(): boolean {
    return Atomics.load(this.#i32, this.completedIndex) === this.submitted;
  }

  enqueueKernel(kernelId: number, args: readonly KernelArg[], call: string): number {
    this.#orderAgainstDefault(call);
    const argc = args.length;
    const slots = kernelSlots(argc);
    const slot = this.#reserve(slots, call);
    const i32 = this.#i32;
    const at = this.#ringI32 + ((slot & RING_MASK) << 4);
    i32[at + CmdI32.ARGC] = argc;
    i32[at + CmdI32.KERNEL_ID] = kernelId;
    i32[at + CmdI32.ARG_TAGS] = 0;
    i32[at + CmdI32.ARG_TAGS + 1] = 0;
    i32[at + CmdI32.ARG_TAGS + 2] = 0;
    i32[at + CmdI32.ARG_TAGS + 3] = 0;
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
    i32[at] = Op.KERNEL | (slots << SLOTS_SHIFT);
    return this.#publish(slots);
  }

  enqueueCopy(srcSpace: number, srcOffset: number, dstSpace: number, dstOffset: number, bytes: number, call: string): number {
    this.#orderAgainstDefault(call);
    const slot = this.#reserve(1, call);
    const at = this.#ringI32 + ((slot & RING_MASK) << 4);
    const f = this.#ringF64 + ((slot & RING_MASK) << 3);
    this.#i32[at + CmdI32.SRC_SPACE] = srcSpace;
    this.#i32[at + CmdI32.DST_SPACE] = dstSpace;
    this.#f64[f + CmdF64.SRC_OFFSET] = srcOffset;
    this.#f64[f + CmdF64.DST_OFFSET] = dstOffset;
    this.#f64[f + CmdF64.BYTES] = bytes;
    this.#i32[at] = Op.COPY | (1 << SLOTS_SHIFT);
    return this.#publish(1);
  }

  enqueueMemset(space: number, offset: number, value: number, count: number, call: string): number {
    this.#orderAgainstDefault(call);
    const slot = this.#reserve(1, call);
    const at = this.#ringI32 + ((slot & RING_MASK) << 4);
    const f = this.#ringF64 + ((slot & RING_MASK) << 3);
    this.#i32[at + CmdI32.VALUE] = value;
    this.#i32[at + CmdI32.MEMSET_SPACE] = space;
    this.#f64[f + CmdF64.OFFSET] = offset;
    this.#f64[f + CmdF64.COUNT] = count;
    this.#i32[at] = Op.MEMSET | (1 << SLOTS_SHIFT);
    return this.#publish(1);
  }

  enqueueRecordEvent(eventSlot: number, epoch: number, timing: boolean, call: string): number {
    this.#orderAgainstDefault(call);
    const slot = this.#reserve(1, call);
    const at = this.#ringI32 + ((slot & RING_MASK) << 4);
    this.#i32[at + CmdI32.EVENT_SLOT] = eventSlot;
    this.#i32[at + CmdI32.EVENT_EPOCH] = epoch;
    this.#i32[at + CmdI32.EVENT_TIMING] = timing ? 1 : 0;
    this.#i32[at] = Op.RECORD_EVENT | (1 << SLOTS_SHIFT);
    return this.#publish(1);
  }

  /** Later work on this stream waits until stream (device, index) has completed `seq`. */
  enqueueWait(device: number, index: number, seq: number, call: string): void {
    this.#orderAgainstDefault(call);
    this.#writeWait(device, index, seq, call);
  }

  enqueueHostFunction(call: string): number {
    this.#orderAgainstDefault(call);
    const slot = this.#reserve(1, call);
    this.#i32[this.#ringI32 + ((slot & RING_MASK) << 4)] = Op.HOST_FUNC | (1 << SLOTS_SHIFT);
    return this.#publish(1);
  }

  /** A no-op command: completes once all earlier work of the stream has. */
  enqueueMarker(call: string): number {
    this.#orderAgainstDefault(call);
    const slot = this.#reserve(1, call);
    this.#i32[this.#ringI32 + ((slot & RING_MASK) << 4)] = Op.NOP | (1 << SLOTS_SHIFT);
    return this.#publish(1);
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
        if (!b.hasCompleted(b.submitted)) this.#writeWait(this.device.index, b.index, b.submitted, call);
      }
      this.device.pruneBlockingStreams();
      return;
    }
    const d = this.device.defaultStream;
    if (d.submitted === this.syncedDefault) return;
    this.syncedDefault = d.submitted;
    if (!d.hasCompleted(d.submitted)) this.#writeWait(this.device.index, d.index, d.submitted, call);
  }

  #writeWait(device: number, index: number, seq: number, call: string): void {
    const slot = this.#reserve(1, call);
    const at = this.#ringI32 + ((slot & RING_MASK) << 4);
    this.#i32[at + CmdI32.WAIT_DEVICE] = device;
    this.#i32[at + CmdI32.WAIT_STREAM] = index;
    this.#i32[at + CmdI32.WAIT_SEQ] = seq;
    this.#i32[at] = Op.WAIT_STREAM | (1 << SLOTS_SHIFT);
    this.#publish(1);
  }

  /** First slot of `slots` free slots; blocks (boundedly, servicing host functions) while the ring is full. */
  #reserve(slots: number, call: string): number {
    const used = (this.#writeSlot - Atomics.load(this.#i32, this.header + StreamWord.READ_SLOT)) | 0;
    if (RING_SLOTS - used < slots) this.device.waitForRingSpace(this, slots, call);
    return this.#writeSlot;
  }

  freeSlots(): number {
    return RING_SLOTS - ((this.#writeSlot - Atomics.load(this.#i32, this.header + StreamWord.READ_SLOT)) | 0);
  }

  #publish(slots: number): number {
    this.#writeSlot = (this.#writeSlot + slots) | 0;
    const seq = (this.submitted = (this.submitted + 1) | 0);
    Atomics.store(this.#i32, this.header + StreamWord.SUBMITTED, seq);
    // The worker announces sleep before its last look at the rings: ring only then.
    if (Atomics.load(this.#i32, DeviceWord.SLEEPING) !== 0) ringDoorbell(this.#i32);
    return seq;
  }
}

import { RING_MASK, ringF64Base, ringI32Base } from './layout.js';

/**
 * The command codec: how a command sits in a stream ring's slots, with both halves — the
 * producer's writers (main thread) and the consumer's readers (device worker). Word 0 of a
 * command's first slot holds the opcode (bits 0..7) and its slot count (bits 8..15); the
 * header word is written last, and the producer publishes with one SUBMITTED store.
 * Int32 and Float64 words alias the same 64-byte slot.
 */
export const Op = {
  NOP: 0,
  KERNEL: 1,
  HOST_FUNC: 2,
  COPY: 3,
  MEMSET: 4,
  RECORD_EVENT: 5,
  /** Wait until stream (device, index) has completed `seq`: events, legacy-stream order. */
  WAIT_STREAM: 6,
  /** A typed kernel (kernel-abi.ts): its argument block inline, or in device memory. */
  TYPED_KERNEL: 7,
} as const;
export type Op = (typeof Op)[keyof typeof Op];

export const OP_MASK = 0xff;
export const SLOTS_SHIFT = 8;

/** Int32 word positions within a command's first slot. */
export const CmdI32 = {
  HEADER: 0,
  /** Every command: the profiler's correlation id of the API call that enqueued it (0 = none). */
  CORRELATION: 1,
  // KERNEL
  KERNEL_ID: 2,
  ARGC: 3,
  /** Words 4..7: 2-bit ArgTag per argument, 16 per word. */
  ARG_TAGS: 4,
  // TYPED_KERNEL (KERNEL_ID and FREE_EPOCH as for KERNEL; ARGC counts argument words)
  /** 1 when the argument block is in device memory (its pointer is the first argument word). */
  ARG_BLOCK_INDIRECT: 4,
  /** The device's free epoch at launch: memory freed at or before it is off limits to the kernel. */
  FREE_EPOCH: 8,
  // COPY
  SRC_SPACE: 2,
  DST_SPACE: 3,
  // MEMSET
  VALUE: 2,
  MEMSET_SPACE: 3,
  // RECORD_EVENT
  EVENT_SLOT: 2,
  EVENT_EPOCH: 3,
  EVENT_TIMING: 4,
  // WAIT_STREAM
  WAIT_DEVICE: 2,
  WAIT_STREAM: 3,
  WAIT_SEQ: 4,
} as const;

/** Float64 word positions within a command (linear across its slots). */
export const CmdF64 = {
  // COPY
  SRC_OFFSET: 2,
  DST_OFFSET: 3,
  BYTES: 4,
  // MEMSET
  OFFSET: 2,
  COUNT: 3,
  // KERNEL: arguments start here (after FREE_EPOCH) and continue into the following slots.
  ARGS: 5,
} as const;

/** How a kernel argument's 64-bit word is read back. */
export const ArgTag = { NUMBER: 0, BIGINT: 1, BOOLEAN: 2, BIGUINT: 3 } as const;
export const MAX_KERNEL_ARGS = 64;
/** Argument words a typed kernel command holds inline (255 slots, the most a command spans); longer blocks go in device memory. */
export const MAX_INLINE_ARG_WORDS = 255 * 8 - CmdF64.ARGS;

/** Copy operand spaces: a device index (>= 0) or pinned host memory. */
export const HOST_POOL_SPACE = -1;

/** A kernel argument as it crosses into the ring. */
export type KernelArg = number | bigint | boolean;

const INT64_MIN = -(2n ** 63n);
const INT64_LIMIT = 2n ** 63n;
const UINT64_LIMIT = 2n ** 64n;

/** True for a bigint that fits a signed or an unsigned 64-bit word. */
export function isEncodableBigInt(value: bigint): boolean {
  return value >= INT64_MIN && value < UINT64_LIMIT;
}

/** Slots a kernel launch with `argc` arguments occupies. */
export function kernelSlots(argc: number): number {
  return (CmdF64.ARGS + argc + 7) >>> 3;
}

/** Slots the command whose header word is `header` occupies. */
export function commandSlots(header: number): number {
  return (header >>> SLOTS_SHIFT) & 0xff;
}

/** Typed views of one stream ring (they cover the whole control block; the bases locate the ring). */
class RingViews {
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  readonly i64: BigInt64Array;
  readonly u64: BigUint64Array;
  /** Int32 and Float64 index of the ring's first word. */
  readonly baseI32: number;
  readonly baseF64: number;

  constructor(buffer: SharedArrayBuffer, stream: number) {
    this.i32 = new Int32Array(buffer);
    this.f64 = new Float64Array(buffer);
    this.i64 = new BigInt64Array(buffer);
    this.u64 = new BigUint64Array(buffer);
    this.baseI32 = ringI32Base(stream);
    this.baseF64 = ringF64Base(stream);
  }

  /** Int32 index of word 0 of the command starting at `slot`. */
  at(slot: number): number {
    return this.baseI32 + ((slot & RING_MASK) << 4);
  }

  /** Float64 index of word `word` of the command starting at `slot` (words run on into later slots). */
  f64Index(slot: number, word: number): number {
    return this.baseF64 + ((((slot + (word >>> 3)) & RING_MASK) << 3) | (word & 7));
  }
}

/** The producer half: writes one command's words at a slot. Publication is the caller's. */
export class CommandWriter extends RingViews {
  /** Stamped into every command written: the profiler's correlation id (0 = none). */
  correlation = 0;

  writeNop(slot: number): void {
    this.#header(this.at(slot), Op.NOP, 1);
  }

  writeHostFunction(slot: number): void {
    this.#header(this.at(slot), Op.HOST_FUNC, 1);
  }

  writeKernel(slot: number, kernelId: number, args: readonly KernelArg[], freeEpoch: number): void {
    const argc = args.length;
    const i32 = this.i32;
    const at = this.at(slot);
    i32[at + CmdI32.ARGC] = argc;
    i32[at + CmdI32.KERNEL_ID] = kernelId;
    i32[at + CmdI32.FREE_EPOCH] = freeEpoch;
    for (let w = 0; w < (argc + 15) >>> 4; w++) i32[at + CmdI32.ARG_TAGS + w] = 0;
    for (let k = 0; k < argc; k++) {
      const arg = args[k]!;
      const i = this.f64Index(slot, CmdF64.ARGS + k);
      let tag: number = ArgTag.NUMBER;
      if (typeof arg === 'number') this.f64[i] = arg;
      else if (typeof arg === 'boolean') {
        this.f64[i] = arg ? 1 : 0;
        tag = ArgTag.BOOLEAN;
      } else if (arg < INT64_LIMIT) {
        this.i64[i] = arg;
        tag = ArgTag.BIGINT;
      } else {
        this.u64[i] = arg;
        tag = ArgTag.BIGUINT;
      }
      if (tag !== 0) i32[at + CmdI32.ARG_TAGS + (k >>> 4)]! |= tag << ((k & 15) << 1);
    }
    this.#header(at, Op.KERNEL, kernelSlots(argc));
  }

  /** A typed kernel whose `count` argument words (from `words[0]`) ride in the command. */
  writeTypedKernel(slot: number, kernelId: number, words: Float64Array, count: number, freeEpoch: number): void {
    const at = this.at(slot);
    const f64 = this.f64;
    this.i32[at + CmdI32.KERNEL_ID] = kernelId;
    this.i32[at + CmdI32.ARGC] = count;
    this.i32[at + CmdI32.ARG_BLOCK_INDIRECT] = 0;
    this.i32[at + CmdI32.FREE_EPOCH] = freeEpoch;
    for (let k = 0; k < count; k++) f64[this.f64Index(slot, CmdF64.ARGS + k)] = words[k]!;
    this.#header(at, Op.TYPED_KERNEL, kernelSlots(count));
  }

  /** A typed kernel whose `count` argument words are in device memory at `blockPtr`. */
  writeIndirectKernel(slot: number, kernelId: number, blockPtr: number, count: number, freeEpoch: number): void {
    const at = this.at(slot);
    this.i32[at + CmdI32.KERNEL_ID] = kernelId;
    this.i32[at + CmdI32.ARGC] = count;
    this.i32[at + CmdI32.ARG_BLOCK_INDIRECT] = 1;
    this.i32[at + CmdI32.FREE_EPOCH] = freeEpoch;
    this.f64[this.f64Index(slot, CmdF64.ARGS)] = blockPtr;
    this.#header(at, Op.TYPED_KERNEL, 1);
  }

  writeCopy(slot: number, srcSpace: number, srcOffset: number, dstSpace: number, dstOffset: number, bytes: number): void {
    const at = this.at(slot);
    this.i32[at + CmdI32.SRC_SPACE] = srcSpace;
    this.i32[at + CmdI32.DST_SPACE] = dstSpace;
    this.f64[this.f64Index(slot, CmdF64.SRC_OFFSET)] = srcOffset;
    this.f64[this.f64Index(slot, CmdF64.DST_OFFSET)] = dstOffset;
    this.f64[this.f64Index(slot, CmdF64.BYTES)] = bytes;
    this.#header(at, Op.COPY, 1);
  }

  writeMemset(slot: number, space: number, offset: number, value: number, count: number): void {
    const at = this.at(slot);
    this.i32[at + CmdI32.VALUE] = value;
    this.i32[at + CmdI32.MEMSET_SPACE] = space;
    this.f64[this.f64Index(slot, CmdF64.OFFSET)] = offset;
    this.f64[this.f64Index(slot, CmdF64.COUNT)] = count;
    this.#header(at, Op.MEMSET, 1);
  }

  writeRecordEvent(slot: number, eventSlot: number, epoch: number, timing: boolean): void {
    const at = this.at(slot);
    this.i32[at + CmdI32.EVENT_SLOT] = eventSlot;
    this.i32[at + CmdI32.EVENT_EPOCH] = epoch;
    this.i32[at + CmdI32.EVENT_TIMING] = timing ? 1 : 0;
    this.#header(at, Op.RECORD_EVENT, 1);
  }

  writeWait(slot: number, device: number, stream: number, seq: number): void {
    const at = this.at(slot);
    this.i32[at + CmdI32.WAIT_DEVICE] = device;
    this.i32[at + CmdI32.WAIT_STREAM] = stream;
    this.i32[at + CmdI32.WAIT_SEQ] = seq;
    this.#header(at, Op.WAIT_STREAM, 1);
  }

  /** The header goes last: a reader that sees it sees the whole command. */
  #header(at: number, op: Op, slots: number): void {
    this.i32[at + CmdI32.CORRELATION] = this.correlation;
    this.i32[at] = op | (slots << SLOTS_SHIFT);
  }
}

/** The consumer half: reads the fields of the command starting at a slot. */
export class CommandReader extends RingViews {
  op(slot: number): Op {
    return (this.i32[this.at(slot)]! & OP_MASK) as Op;
  }

  slots(slot: number): number {
    return commandSlots(this.i32[this.at(slot)]!);
  }

  correlation(slot: number): number {
    return this.i32[this.at(slot) + CmdI32.CORRELATION]!;
  }

  /** An Int32 field (CmdI32) of the command. */
  word(slot: number, field: number): number {
    return this.i32[this.at(slot) + field]!;
  }

  /** A Float64 field (CmdF64) of the command. */
  number(slot: number, field: number): number {
    return this.f64[this.f64Index(slot, field)]!;
  }

  argc(slot: number): number {
    return this.i32[this.at(slot) + CmdI32.ARGC]!;
  }

  /** Copies an inline typed kernel's argument words into `into` (from its start). */
  copyArgWords(slot: number, count: number, into: Float64Array): void {
    for (let k = 0; k < count; k++) into[k] = this.f64[this.f64Index(slot, CmdF64.ARGS + k)]!;
  }

  /** Kernel argument `k`, as the type it was written with. */
  arg(slot: number, k: number): KernelArg {
    const tag = (this.i32[this.at(slot) + CmdI32.ARG_TAGS + (k >>> 4)]! >>> ((k & 15) << 1)) & 3;
    const i = this.f64Index(slot, CmdF64.ARGS + k);
    switch (tag) {
      case ArgTag.NUMBER:
        return this.f64[i]!;
      case ArgTag.BIGINT:
        return this.i64[i]!;
      case ArgTag.BOOLEAN:
        return this.f64[i] !== 0;
      default: // ArgTag.BIGUINT, the last of the four 2-bit tags
        return this.u64[i]!;
    }
  }
}

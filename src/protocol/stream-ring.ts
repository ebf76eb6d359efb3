import { commandSlots } from './command.js';
import { DeviceWord, RING_MASK, RING_SLOTS, StreamWord, ringI32Base, streamWordIndex } from './layout.js';
import { ringDoorbell } from './wake.js';

/** At most RING_SLOTS commands are outstanding: a log twice that size never wraps onto one. */
const SLOT_LOG_MASK = 2 * RING_SLOTS - 1;

/**
 * The producer's cursors over one stream ring (single producer: the main thread). Free
 * space is derived from the consumer's COMPLETED word through a log of the write cursor
 * after each command, so the producer never reads the consumer's slot cursor per command.
 * The shared words (SUBMITTED, COMPLETED, slot cursors) wrap as int32; the host counts
 * commands in plain numbers (exact to 2^53), so a position taken long ago stays in the
 * past however many commands follow: `completed()` extends COMPLETED into that count.
 */
export class RingProducer {
  readonly #control: Int32Array;
  readonly #submittedIndex: number;
  readonly #completedIndex: number;
  #writeSlot: number;
  /** The consumer's slot cursor as last derived: re-derived only when the ring looks full. */
  #consumed: number;
  /** Write cursor after each command (by sequence number). */
  readonly #slotAfter = new Int32Array(2 * RING_SLOTS);
  /** SUBMITTED as int32 (the shared word's value) and as the host's count. */
  #written: number;
  #count: number;

  /** `count`: the host's count the record's SUBMITTED word stands for (by default its value). */
  constructor(control: Int32Array, stream: number, count?: number) {
    this.#control = control;
    this.#submittedIndex = streamWordIndex(stream, StreamWord.SUBMITTED);
    this.#completedIndex = streamWordIndex(stream, StreamWord.COMPLETED);
    this.#written = Atomics.load(control, this.#submittedIndex);
    this.#count = count ?? this.#written;
    this.#writeSlot = this.#consumed = Atomics.load(control, streamWordIndex(stream, StreamWord.READ_SLOT));
    this.#slotAfter[this.#written & SLOT_LOG_MASK] = this.#writeSlot;
  }

  /** Where the next command's first slot goes. */
  get writeSlot(): number {
    return this.#writeSlot;
  }

  /** Count of commands written (visible to the consumer after `publish`): the last one's sequence number. */
  get written(): number {
    return this.#count;
  }

  /** The shared words' (wrapping) value for command `count` of the host's count. */
  wordOf(count: number): number {
    return (this.#written - (this.#count - count)) | 0;
  }

  /**
   * Count of commands the consumer has completed, from its COMPLETED word: fewer than
   * 2^32 written commands are ever outstanding, so the word pins it down exactly.
   */
  completed(): number {
    return this.#count - ((this.#written - Atomics.load(this.#control, this.#completedIndex)) >>> 0);
  }

  /**
   * The host count of the first outstanding command whose completion leaves `slots` slots
   * free (the last written if none does): where a producer waiting for room is woken.
   */
  countFreeing(slots: number): number {
    const completedWord = Atomics.load(this.#control, this.#completedIndex);
    for (let w = (completedWord + 1) | 0; w !== ((this.#written + 1) | 0); w = (w + 1) | 0) {
      if (RING_SLOTS - ((this.#writeSlot - this.#slotAfter[w & SLOT_LOG_MASK]!) | 0) >= slots) return this.#count - ((this.#written - w) | 0);
    }
    return this.#count;
  }

  /** True if `slots` slots are free: from the cached consumer position first (it never overstates), then a fresh one. */
  hasRoom(slots: number): boolean {
    return RING_SLOTS - ((this.#writeSlot - this.#consumed) | 0) >= slots || this.freeSlots() >= slots;
  }

  /** Free slots, from the consumer's current position. */
  freeSlots(): number {
    this.#consumed = this.#slotAfter[Atomics.load(this.#control, this.#completedIndex) & SLOT_LOG_MASK]!;
    return RING_SLOTS - ((this.#writeSlot - this.#consumed) | 0);
  }

  /** Moves past a command of `slots` slots just written at the write slot; returns its sequence number. */
  advance(slots: number): number {
    this.#writeSlot = (this.#writeSlot + slots) | 0;
    this.#written = (this.#written + 1) | 0;
    this.#slotAfter[this.#written & SLOT_LOG_MASK] = this.#writeSlot;
    return ++this.#count;
  }

  /**
   * Makes every command advanced over visible to the consumer: one seq-cst store. The
   * consumer announces sleep before its last look at the rings, so the doorbell is rung
   * only when it has.
   */
  publish(): void {
    const control = this.#control;
    Atomics.store(control, this.#submittedIndex, this.#written);
    if (Atomics.load(control, DeviceWord.SLEEPING) !== 0) ringDoorbell(control);
  }

  /** `advance` then `publish`: the common case of one command written and sent at once. */
  commit(slots: number): number {
    // advance and publish written out: this runs once per launch.
    const control = this.#control;
    this.#writeSlot = (this.#writeSlot + slots) | 0;
    const written = (this.#written = (this.#written + 1) | 0);
    this.#slotAfter[written & SLOT_LOG_MASK] = this.#writeSlot;
    Atomics.store(control, this.#submittedIndex, written);
    if (Atomics.load(control, DeviceWord.SLEEPING) !== 0) ringDoorbell(control);
    return ++this.#count;
  }
}

/** True once a stream whose COMPLETED word reads `completed` has completed command `seq` (wrap-safe). */
export function hasCompleted(completed: number, seq: number): boolean {
  return ((completed - seq) | 0) >= 0;
}

/**
 * Drops every command a stream has pending, as if each had completed: the consumer
 * cursor skips to the producer's position. Only the stream's consumer may call this
 * (its worker, or the host once that worker is dead).
 */
export function discardPendingCommands(control: Int32Array, index: number): void {
  const h = streamWordIndex(index, 0);
  const submitted = Atomics.load(control, h + StreamWord.SUBMITTED);
  let completed = Atomics.load(control, h + StreamWord.COMPLETED);
  let slot = Atomics.load(control, h + StreamWord.READ_SLOT);
  const ring = ringI32Base(index);
  while (completed !== submitted) {
    slot = (slot + commandSlots(control[ring + ((slot & RING_MASK) << 4)]!)) | 0;
    completed = (completed + 1) | 0;
  }
  Atomics.store(control, h + StreamWord.READ_SLOT, slot);
  Atomics.store(control, h + StreamWord.HOST_PENDING, 0);
  Atomics.store(control, h + StreamWord.HOST_DONE, 0);
  Atomics.store(control, h + StreamWord.COMPLETED, completed);
}

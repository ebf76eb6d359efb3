/**
 * The bare Atomics ring: the textbook single-producer / single-consumer ring between
 * two threads (as in ringbuf.js), with no runtime around it. It is the practical limit
 * the openreg stream engine is measured against: 64-byte command slots, one
 * Atomics.store publishing each command, the consumer's position stored after each
 * command, each index on its own cache line, spin-then-sleep on both sides, and the
 * same full-ring watermark as openreg.
 */
export const RING_CAPACITY = 1024;
const MASK = RING_CAPACITY - 1;
const SLOT_WORDS = 16;

/** Int32 word indices; 16 words (64 bytes) apart so that no two sides share a line. */
export const RingWord = { TAIL: 0, HEAD: 16, SLEEPING: 32, DOORBELL: 33, STOP: 34, PRODUCER_WAITING: 48, PRODUCER_WAKE: 49 } as const;
export const SLOTS_BASE = 64;
export const RING_BYTES = (SLOTS_BASE + RING_CAPACITY * SLOT_WORDS) * 4;

const SPINS = 2000;

export class RingProducer {
  readonly #words: Int32Array;
  #tail = 0;

  constructor(buffer: SharedArrayBuffer) {
    this.#words = new Int32Array(buffer);
  }

  /** Publishes one command (an opcode word); returns its sequence number. */
  push(op: number): number {
    const w = this.#words;
    // A full ring waits for a quarter of it to drain (as openreg's producer does): waiting
    // for one slot would trade a wake-up per command once the consumer falls behind.
    if (this.#tail - Atomics.load(w, RingWord.HEAD) >= RING_CAPACITY) this.#waitForHead(this.#tail - (RING_CAPACITY - (RING_CAPACITY >> 2)));
    w[SLOTS_BASE + (this.#tail & MASK) * SLOT_WORDS] = op;
    Atomics.store(w, RingWord.TAIL, ++this.#tail);
    if (Atomics.load(w, RingWord.SLEEPING) !== 0) {
      Atomics.add(w, RingWord.DOORBELL, 1);
      Atomics.notify(w, RingWord.DOORBELL);
    }
    return this.#tail;
  }

  /** Asks the consumer to return. */
  stop(): void {
    Atomics.store(this.#words, RingWord.STOP, 1);
    Atomics.add(this.#words, RingWord.DOORBELL, 1);
    Atomics.notify(this.#words, RingWord.DOORBELL);
  }

  /** Blocks until the consumer has processed command `seq` (spin, then Atomics.wait). */
  waitFor(seq: number): void {
    if (Atomics.load(this.#words, RingWord.HEAD) >= seq) return;
    this.#waitForHead(seq);
  }

  #waitForHead(seq: number): void {
    const w = this.#words;
    for (let i = 0; i < SPINS; i++) if (Atomics.load(w, RingWord.HEAD) >= seq) return;
    while (Atomics.load(w, RingWord.HEAD) < seq) {
      const wake = Atomics.load(w, RingWord.PRODUCER_WAKE);
      Atomics.store(w, RingWord.PRODUCER_WAITING, 1);
      if (Atomics.load(w, RingWord.HEAD) >= seq) break;
      Atomics.wait(w, RingWord.PRODUCER_WAKE, wake, 50);
    }
    Atomics.store(w, RingWord.PRODUCER_WAITING, 0);
  }
}

/** The consumer loop: runs `execute(op)` for each command until the producer calls `stop`. */
export function consumeRing(buffer: SharedArrayBuffer, execute: (op: number) => void): void {
  const w = new Int32Array(buffer);
  let head = 0;
  for (;;) {
    let tail = Atomics.load(w, RingWord.TAIL);
    for (let i = 0; head === tail && i < SPINS; i++) tail = Atomics.load(w, RingWord.TAIL);
    if (head === tail) {
      if (Atomics.load(w, RingWord.STOP) !== 0) return;
      Atomics.store(w, RingWord.SLEEPING, 1);
      const bell = Atomics.load(w, RingWord.DOORBELL);
      if (Atomics.load(w, RingWord.TAIL) === head) Atomics.wait(w, RingWord.DOORBELL, bell, 50);
      Atomics.store(w, RingWord.SLEEPING, 0);
      continue;
    }
    while (head !== tail) {
      execute(w[SLOTS_BASE + (head & MASK) * SLOT_WORDS]!);
      Atomics.store(w, RingWord.HEAD, ++head);
      if (Atomics.load(w, RingWord.PRODUCER_WAITING) !== 0) {
        Atomics.add(w, RingWord.PRODUCER_WAKE, 1);
        Atomics.notify(w, RingWord.PRODUCER_WAKE);
      }
    }
  }
}

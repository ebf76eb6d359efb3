/**
 * Schedule fuzzing, shared by the host (options) and the device workers (the choices):
 * a seeded PRNG picks which ready stream runs next and when to pause, so orderings a real
 * GPU could produce but this machine rarely does get exercised, reproducibly per seed.
 */
export interface ScheduleFuzzOptions {
  /** The seed; each device derives its own from it. */
  seed: number;
  /** Longest pause before a command, in microseconds. */
  maxDelayUs: number;
}

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export class SeededRandom {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }
}

import { randomBytes } from 'node:crypto';
import { invalidValue } from '../../errors/errors.js';
import { requireInteger } from '../../errors/validate.js';

const U64 = 2n ** 64n;
/** Bytes of a generator state: 64-bit seed, then 64-bit offset, little-endian. */
export const GENERATOR_STATE_BYTES = 16;

/**
 * A Philox4x32-10 generator of one device (PyTorch's CUDA generator): a 64-bit seed and
 * a 64-bit offset counting 32-bit random values. Each random launch reserves its range
 * of the offset on the host, when it is launched, so its results depend only on the seed,
 * that offset and the element index.
 */
export class Generator {
  readonly device: number;
  #seed = 67280421310721n; // PyTorch's default seed
  #offset = 0;

  /** @internal use rt.defaultGenerator() or rt.newGenerator() */
  constructor(device: number, seed?: bigint) {
    this.device = device;
    if (seed !== undefined) this.#seed = seed;
  }

  /** Sets the seed and resets the offset to 0. */
  manualSeed(seed: number | bigint): this {
    return this.seedAs('manualSeed', seed);
  }

  /** @internal manualSeed, with messages naming the public call that seeds. */
  seedAs(call: string, seed: unknown): this {
    this.#seed = toSeed(call, seed);
    this.#offset = 0;
    return this;
  }

  /** Seeds from the operating system's entropy and returns the new seed. */
  seed(): bigint {
    this.#seed = randomBytes(8).readBigUInt64LE(0);
    this.#offset = 0;
    return this.#seed;
  }

  /** The seed the generator was last seeded with. */
  initialSeed(): bigint {
    return this.#seed;
  }

  getOffset(): number {
    return this.#offset;
  }

  /** Sets the offset (a multiple of 4: one Philox block is four values). */
  setOffset(offset: number): void {
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0 || offset % 4 !== 0) {
      throw invalidValue('setOffset', 'offset must be a non-negative safe integer and a multiple of 4', offset);
    }
    this.#offset = offset;
  }

  /** The state as 16 bytes: seed then offset, each a little-endian 64-bit integer. */
  getState(): Uint8Array {
    const state = new Uint8Array(GENERATOR_STATE_BYTES);
    const view = new DataView(state.buffer);
    view.setBigUint64(0, this.#seed, true);
    view.setBigUint64(8, BigInt(this.#offset), true);
    return state;
  }

  setState(state: Uint8Array): void {
    if (!(state instanceof Uint8Array) || state.byteLength !== GENERATOR_STATE_BYTES) {
      throw invalidValue('setState', `state must be a Uint8Array of ${GENERATOR_STATE_BYTES} bytes`, state);
    }
    const view = new DataView(state.buffer, state.byteOffset, state.byteLength);
    const offset = view.getBigUint64(8, true);
    if (offset > BigInt(Number.MAX_SAFE_INTEGER) || offset % 4n !== 0n) {
      throw invalidValue('setState', 'the offset in state must be a multiple of 4 below 2^53', offset);
    }
    this.#seed = view.getBigUint64(0, true);
    this.#offset = Number(offset);
  }

  /**
   * Reserves `values` 32-bit values for one launch; returns the offset it starts at. The
   * offset advances by a multiple of 4 (PyTorch's increment rule).
   */
  reserve(values: number): number {
    requireInteger('reserve', 'values', values, 0);
    const start = this.#offset;
    this.#offset += Math.ceil(values / 4) * 4;
    return start;
  }

  /** The seed as two 32-bit words, the Philox key. */
  get key(): [number, number] {
    return [Number(this.#seed & 0xffffffffn), Number(this.#seed >> 32n)];
  }
}

function toSeed(call: string, seed: unknown): bigint {
  // PyTorch's range: negative seeds down to -2^63 wrap into uint64; beyond either end is an overflow, not a wrap.
  if (typeof seed === 'bigint') {
    if (seed < -(2n ** 63n) || seed >= U64) throw invalidValue(call, 'seed must be in [-2^63, 2^64)', seed);
    return ((seed % U64) + U64) % U64;
  }
  if (typeof seed === 'number' && Number.isSafeInteger(seed)) return ((BigInt(seed) % U64) + U64) % U64;
  throw invalidValue(call, 'seed must be a safe integer or a bigint', seed);
}

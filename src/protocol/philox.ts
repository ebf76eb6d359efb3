/**
 * Philox4x32-10 (Salmon et al., SC'11; Random123): a counter-based generator. Four 32-bit
 * counter words and two key words map to four random 32-bit words; no state, so any
 * element of a stream can be computed independently. No dependencies: kernels may import
 * this module (`openreg/philox`) inside a device worker.
 */
const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product of two unsigned 32-bit integers, exactly. */
function mulhi32(a: number, b: number): number {
  const aL = a & 0xffff;
  const aH = a >>> 16;
  const bL = b & 0xffff;
  const bH = b >>> 16;
  const lh = aL * bH;
  const hl = aH * bL;
  const mid = ((aL * bL) >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (aH * bH + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) >>> 0;
}

/**
 * One Philox4x32-10 block: writes the four output words for counter (c0..c3) and key
 * (k0, k1) into `out` (offsets 0..3) and returns `out`.
 */
export function philox4x32(c0: number, c1: number, c2: number, c3: number, k0: number, k1: number, out: Uint32Array = new Uint32Array(4)): Uint32Array {
  let x0 = c0 >>> 0;
  let x1 = c1 >>> 0;
  let x2 = c2 >>> 0;
  let x3 = c3 >>> 0;
  let key0 = k0 >>> 0;
  let key1 = k1 >>> 0;
  for (let round = 0; round < 10; round++) {
    if (round > 0) {
      key0 = (key0 + W0) >>> 0;
      key1 = (key1 + W1) >>> 0;
    }
    const hi0 = mulhi32(M0, x0);
    const lo0 = Math.imul(M0, x0) >>> 0;
    const hi1 = mulhi32(M1, x2);
    const lo1 = Math.imul(M1, x2) >>> 0;
    x0 = (hi1 ^ x1 ^ key0) >>> 0;
    x1 = lo1;
    x2 = (hi0 ^ x3 ^ key1) >>> 0;
    x3 = lo0;
  }
  out[0] = x0;
  out[1] = x1;
  out[2] = x2;
  out[3] = x3;
  return out;
}

/**
 * Random 32-bit values by position: value number `n` of the stream keyed by (seedLo,
 * seedHi) is lane n % 4 of the block at counter n / 4 (a 64-bit counter in c0, c1).
 * Caches the last block, so reading consecutive values costs one block per four.
 */
export class PhiloxStream {
  readonly #block = new Uint32Array(4);
  #blockIndex = -1;
  #seedLo = 0;
  #seedHi = 0;

  reset(seedLo: number, seedHi: number): void {
    this.#seedLo = seedLo >>> 0;
    this.#seedHi = seedHi >>> 0;
    this.#blockIndex = -1;
  }

  /** Value number `n` (0 ≤ n < 2^53). */
  value(n: number): number {
    const block = Math.floor(n / 4);
    if (block !== this.#blockIndex) {
      this.#blockIndex = block;
      philox4x32(block % 0x1_0000_0000, Math.floor(block / 0x1_0000_0000), 0, 0, this.#seedLo, this.#seedHi, this.#block);
    }
    return this.#block[n % 4]!;
  }
}

/** A float in [0, 1) from one 32-bit value (24 bits of precision). */
export function toUnitFloat32(u: number): number {
  return (u >>> 8) * 2 ** -24;
}

/** A double in [0, 1) from two 32-bit values (53 bits of precision). */
export function toUnitFloat64(a: number, b: number): number {
  return ((a >>> 5) * 2 ** 26 + (b >>> 6)) * 2 ** -53;
}

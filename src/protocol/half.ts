/**
 * float16 and bfloat16 as 16-bit patterns (Node 20 has no Float16Array), converted with
 * exact round-to-nearest-even. Shared by the host and the kernels in the workers.
 */

/** Rounds to the nearest integer, ties to even. */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * The bits of the binary float with `expBits` exponent and `mantBits` mantissa bits nearest
 * to `value`, ties to even, one rounding from the double (scalings by powers of two are
 * exact in a double, so nothing else rounds). Overflow gives infinity; NaN the quiet NaN.
 */
function encode(value: number, expBits: number, mantBits: number): number {
  const signBit = 1 << (expBits + mantBits);
  const sign = value < 0 || Object.is(value, -0) ? signBit : 0;
  const maxExp = (1 << expBits) - 1;
  if (Number.isNaN(value)) return (maxExp << mantBits) | (1 << (mantBits - 1));
  const x = Math.abs(value);
  if (x === Infinity) return sign | (maxExp << mantBits);
  if (x === 0) return sign;
  const bias = (1 << (expBits - 1)) - 1;
  let e = Math.floor(Math.log2(x));
  if (2 ** e > x) e--;
  else if (2 ** (e + 1) <= x) e++;
  if (e < 1 - bias) {
    // Subnormal: multiples of 2^(1 - bias - mantBits); rounding up to 2^mantBits is the smallest normal, same bits.
    return sign | roundHalfEven(x / 2 ** (1 - bias - mantBits));
  }
  let q = roundHalfEven(x / 2 ** (e - mantBits)); // in [2^mantBits, 2^(mantBits+1)]
  let exp = e + bias;
  if (q === 2 ** (mantBits + 1)) {
    q /= 2;
    exp++;
  }
  if (exp >= maxExp) return sign | (maxExp << mantBits);
  return sign | (exp << mantBits) | (q - 2 ** mantBits);
}

function decode(bits: number, expBits: number, mantBits: number): number {
  const sign = bits & (1 << (expBits + mantBits)) ? -1 : 1;
  const exp = (bits >>> mantBits) & ((1 << expBits) - 1);
  const mant = bits & ((1 << mantBits) - 1);
  const bias = (1 << (expBits - 1)) - 1;
  if (exp === (1 << expBits) - 1) return mant === 0 ? sign * Infinity : Number.NaN;
  if (exp === 0) return sign * mant * 2 ** (1 - bias - mantBits);
  return sign * (2 ** mantBits + mant) * 2 ** (exp - bias - mantBits);
}

/** IEEE 754 binary16 bits of `value`, rounded to nearest, ties to even. */
export function toFloat16Bits(value: number): number {
  return encode(value, 5, 10);
}

export function fromFloat16Bits(bits: number): number {
  return decode(bits, 5, 10);
}

/** bfloat16 bits of `value` (8 exponent bits, 7 mantissa bits), rounded to nearest, ties to even. */
export function toBFloat16Bits(value: number): number {
  return encode(value, 8, 7);
}

export function fromBFloat16Bits(bits: number): number {
  return decode(bits, 8, 7);
}

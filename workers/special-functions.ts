/**
 * Scalar functions the elementwise kernels need and JavaScript's Math lacks, in doubles
 * (the kernels round once into the output's dtype). erf: a power series near 0, a continued
 * fraction for erfc beyond.
 */

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const SQRT1_2 = Math.SQRT1_2;
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
/** 1 / √(2π): the standard normal density at 0. */
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
/** Where the series hands over to the continued fraction: within 3 ulps of Python's math.erf over [−7, 7]. */
const SERIES_LIMIT = 1.5;
/** erf(x) rounds to ±1 in doubles beyond this. */
const SATURATION = 6;

/** erf(x) = 2/√π · Σ (−1)ⁿ x^(2n+1) / (n! (2n+1)), summed until the terms stop mattering. */
function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 100; n++) {
    term *= -x2 / n;
    const add = term / (2 * n + 1);
    sum += add;
    if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
  }
  return TWO_OVER_SQRT_PI * sum;
}

/** erfc(x) for x ≥ SERIES_LIMIT: e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), by Lentz's method. */
function erfcFraction(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 200; n++) {
    const a = n / 2;
    d = x + a * d;
    d = d === 0 ? 1 / tiny : 1 / d;
    c = x + a / c;
    if (c === 0) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / (Math.sqrt(Math.PI) * f);
}

/** The error function. */
export function erf(x: number): number {
  if (Number.isNaN(x)) return x;
  const a = Math.abs(x);
  if (a < SERIES_LIMIT) return erfSeries(x);
  if (a >= SATURATION) return Math.sign(x);
  const r = 1 - erfcFraction(a);
  return x < 0 ? -r : r;
}

/** Rounds half to even, as PyTorch's round (and C's nearbyint) does; keeps −0. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // Math.round takes ties up: a tie whose result is odd goes one down instead.
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** x · Φ(x), the exact GELU. */
export function gelu(x: number): number {
  return 0.5 * x * (1 + erf(x * SQRT1_2));
}

/** GELU with tanh in place of erf (approximate='tanh'). */
export function geluTanh(x: number): number {
  return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
}

/** d gelu / dx = Φ(x) + x · φ(x), times the incoming gradient. */
export function geluBackward(g: number, x: number): number {
  return g * (0.5 * (1 + erf(x * SQRT1_2)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x));
}

/** d geluTanh / dx, times the incoming gradient. */
export function geluTanhBackward(g: number, x: number): number {
  const inner = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
  const t = Math.tanh(inner);
  const dInner = SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x);
  return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * dInner);
}

/** x · sigmoid(x). */
export function silu(x: number): number {
  return x / (1 + Math.exp(-x));
}

/** d silu / dx = s (1 + x (1 − s)) with s = sigmoid(x), times the incoming gradient. */
export function siluBackward(g: number, x: number): number {
  const s = 1 / (1 + Math.exp(-x));
  return g * s * (1 + x * (1 - s));
}

/** Python's modulo: the remainder takes the divisor's sign (PyTorch's remainder). */
export function remainder(x: number, y: number): number {
  const r = x % y;
  return r !== 0 && r < 0 !== y < 0 ? r + y : r;
}

// float32 transcendental functions on f32x4 lanes (Cephes' single-precision polynomials:
// within 2 ulp of the correctly rounded result over the whole range, specials as IEEE says).

// @ts-ignore: decorator
@inline const LOG2E: f32 = 1.44269504088896341;
// ln 2 split in two so that n·ln2 subtracts exactly (Cody–Waite).
// @ts-ignore: decorator
@inline const LN2_HI: f32 = 0.693359375;
// @ts-ignore: decorator
@inline const LN2_LO: f32 = -2.12194440e-4;

/** e^x on four lanes. Past ±88.7 the result saturates to inf or flushes through the denormals to 0. */
// @ts-ignore: decorator
@inline
export function expF32x4(x: v128): v128 {
  // pmin/pmax are single instructions (min/max with NaN semantics are not); NaN is restored at the end.
  const c = f32x4.pmin(f32x4.pmax(x, f32x4.splat(-104.0)), f32x4.splat(89.0));
  // Round to nearest by adding 1.5·2^23: n's integer sits in the low mantissa bits of t.
  const t = f32x4.add(f32x4.mul(c, f32x4.splat(LOG2E)), f32x4.splat(12582912.0));
  const nf = f32x4.sub(t, f32x4.splat(12582912.0));
  const r = f32x4.sub(f32x4.sub(c, f32x4.mul(nf, f32x4.splat(LN2_HI))), f32x4.mul(nf, f32x4.splat(LN2_LO)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1.0));
  // 2^n as two factors 2^(n/2)·2^(n - n/2), each a normal float, so n in [-150, 128] scales exactly.
  const n = i32x4.sub(t, f32x4.splat(12582912.0));
  const n1 = i32x4.shr_s(n, 1);
  const n2 = i32x4.sub(n, n1);
  const s1 = i32x4.shl(i32x4.add(n1, i32x4.splat(127)), 23);
  const s2 = i32x4.shl(i32x4.add(n2, i32x4.splat(127)), 23);
  const e = f32x4.mul(f32x4.mul(p, s1), s2);
  return v128.bitselect(x, e, f32x4.ne(x, x));
}

/**
 * e^x for x ≤ 0 (softmax's shifted inputs): one scaling step and a degree-5 polynomial
 * (within 2.3 ulp), about half the work of expF32x4; results below the normal range (x < -87.33) are 0.
 */
// @ts-ignore: decorator
@inline
export function expNonPositiveF32x4(x: v128): v128 {
  const t = f32x4.add(f32x4.mul(x, f32x4.splat(LOG2E)), f32x4.splat(12582912.0));
  const nf = f32x4.sub(t, f32x4.splat(12582912.0));
  const r = f32x4.sub(f32x4.sub(x, f32x4.mul(nf, f32x4.splat(LN2_HI))), f32x4.mul(nf, f32x4.splat(LN2_LO)));
  // e^r = 1 + r + r²·q(r) on [-ln2/2, ln2/2]; q fitted for relative error by test/reference/fit-exp-polynomial.py.
  let q = f32x4.splat(0.008312506601214409);
  q = f32x4.add(f32x4.mul(q, r), f32x4.splat(0.041890114545822144));
  q = f32x4.add(f32x4.mul(q, r), f32x4.splat(0.16667114198207855));
  q = f32x4.add(f32x4.mul(q, r), f32x4.splat(0.499992311000824));
  const p = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(r, r), q), r), f32x4.splat(1.0));
  // 2^n: (n + 127) << 23, where n's bits are t's minus those of 1.5·2^23.
  const scale = i32x4.shl(i32x4.add(t, i32x4.splat(127 - 0x4b400000)), 23);
  return v128.andnot(f32x4.mul(p, scale), f32x4.lt(x, f32x4.splat(-87.33)));
}

/** ln x on four lanes: -inf at 0, NaN below it, denormals scaled up first. */
// @ts-ignore: decorator
@inline
export function logF32x4(x: v128): v128 {
  // Denormals: times 2^23, with 23 taken off the exponent.
  const tiny = f32x4.lt(x, f32x4.splat(1.17549435e-38));
  const xs = v128.bitselect(f32x4.mul(x, f32x4.splat(8388608.0)), x, tiny);
  const bits = xs;
  let e = i32x4.sub(i32x4.shr_u(bits, 23), i32x4.splat(126));
  e = i32x4.sub(e, v128.and(tiny, i32x4.splat(23)));
  // The mantissa in [0.5, 1).
  let m = v128.or(v128.and(bits, i32x4.splat(0x807fffff)), i32x4.splat(0x3f000000));
  const small = f32x4.lt(m, f32x4.splat(0.707106781186547524));
  // m < √½: use 2m - 1 and e - 1 (the i32 true mask is -1).
  e = i32x4.add(e, small);
  m = f32x4.sub(f32x4.add(m, v128.and(m, small)), f32x4.splat(1.0));
  const ef = f32x4.convert_i32x4_s(e);
  const z = f32x4.mul(m, m);
  let y = f32x4.splat(7.0376836292e-2);
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(-1.1514610310e-1));
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(1.1676998740e-1));
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(-1.2420140846e-1));
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(1.4249322787e-1));
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(-1.6668057665e-1));
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(2.0000714765e-1));
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(-2.4999993993e-1));
  y = f32x4.add(f32x4.mul(y, m), f32x4.splat(3.3333331174e-1));
  y = f32x4.mul(f32x4.mul(y, m), z);
  y = f32x4.add(y, f32x4.mul(ef, f32x4.splat(LN2_LO)));
  y = f32x4.sub(y, f32x4.mul(z, f32x4.splat(0.5)));
  let r = f32x4.add(f32x4.add(m, y), f32x4.mul(ef, f32x4.splat(LN2_HI)));
  // Specials: ln 0 = -inf, ln(x < 0) = NaN, ln inf = inf, ln NaN = NaN.
  r = v128.bitselect(f32x4.splat(-Infinity), r, f32x4.eq(x, f32x4.splat(0.0)));
  r = v128.bitselect(f32x4.splat(NaN), r, f32x4.lt(x, f32x4.splat(0.0)));
  r = v128.bitselect(x, r, f32x4.eq(x, f32x4.splat(Infinity)));
  return v128.bitselect(x, r, f32x4.ne(x, x));
}

/** tanh on four lanes: an odd polynomial below 0.625, 1 - 2/(e^2|x| + 1) above, with x's sign. */
// @ts-ignore: decorator
@inline
export function tanhF32x4(x: v128): v128 {
  const a = f32x4.abs(x);
  const big = f32x4.sub(f32x4.splat(1.0), f32x4.div(f32x4.splat(2.0), f32x4.add(expF32x4(f32x4.add(a, a)), f32x4.splat(1.0))));
  const signed = v128.or(big, v128.and(x, i32x4.splat(0x80000000)));
  const z = f32x4.mul(x, x);
  let p = f32x4.splat(-5.70498872745e-3);
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(2.06390887954e-2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-5.37397155531e-2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(1.33314422036e-1));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-3.33332819422e-1));
  // ±0 kept: x + x·z·p would turn -0 into +0.
  const smallValue = v128.bitselect(x, f32x4.add(f32x4.mul(f32x4.mul(p, z), x), x), f32x4.eq(x, f32x4.splat(0)));
  // NaN fails the comparison and takes the big branch, which propagates it.
  return v128.bitselect(smallValue, signed, f32x4.lt(a, f32x4.splat(0.625)));
}

/** The logistic function 1 / (1 + e^-x). */
// @ts-ignore: decorator
@inline
export function sigmoidF32x4(x: v128): v128 {
  return f32x4.div(f32x4.splat(1.0), f32x4.add(f32x4.splat(1.0), expF32x4(f32x4.neg(x))));
}

// float16 and bfloat16 bits to float32 and back, rounding to nearest even, NaN to the quiet
// NaN: the same results as src/protocol/half.ts gives the JS kernels.

// @ts-ignore: decorator
@inline
export function float16ToF32(h: u32): f32 {
  const sign = (h & 0x8000) << 16;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e == 0) {
    // Zero or subnormal: m·2^-24, exact in float32.
    const v = <f32>m * 5.9604644775390625e-8;
    return sign ? -v : v;
  }
  if (e == 31) return reinterpret<f32>(sign | 0x7f800000 | (m << 13));
  return reinterpret<f32>(sign | ((e + 112) << 23) | (m << 13));
}

// @ts-ignore: decorator
@inline
export function f32ToFloat16(f: f32): u32 {
  const x = reinterpret<u32>(f);
  const sign = (x >> 16) & 0x8000;
  const ax = x & 0x7fffffff;
  if (ax > 0x7f800000) return 0x7e00;
  // 65520 and above round to infinity (65504 is the largest finite half).
  if (ax >= 0x477ff000) return sign | 0x7c00;
  if (ax < 0x38800000) {
    // Below 2^-14: a subnormal, the nearest multiple of 2^-24 (f32.nearest rounds ties to even).
    return sign | <u32>nearest(reinterpret<f32>(ax) * 16777216.0);
  }
  const rounded = ax + 0xfff + ((ax >> 13) & 1);
  return sign | ((rounded - 0x38000000) >> 13);
}

// @ts-ignore: decorator
@inline
export function bfloat16ToF32(h: u32): f32 {
  return reinterpret<f32>(h << 16);
}

// @ts-ignore: decorator
@inline
export function f32ToBfloat16(f: f32): u32 {
  const x = reinterpret<u32>(f);
  if ((x & 0x7fffffff) > 0x7f800000) return 0x7fc0;
  return (x + 0x7fff + ((x >> 16) & 1)) >> 16;
}

/** Four float16 (bf16 false) or bfloat16 values at p, widened to float32 lanes. */
// @ts-ignore: decorator
@inline
export function loadHalf4(p: usize, bf16: bool): v128 {
  const h = i32x4.extend_low_i16x8_u(v128.load64_zero(p));
  if (bf16) return i32x4.shl(h, 16);
  // float16: exponent and mantissa moved into place and scaled by 2^112 (exact, subnormals too);
  // infinities and NaNs (exponent 31) get float32's all-ones exponent; then the sign.
  const magnitude = f32x4.mul(i32x4.shl(v128.and(h, i32x4.splat(0x7fff)), 13), f32x4.splat(5.192296858534828e33));
  const special = i32x4.eq(v128.and(h, i32x4.splat(0x7c00)), i32x4.splat(0x7c00));
  const widened = v128.or(magnitude, v128.and(special, i32x4.splat(0x7f800000)));
  return v128.or(widened, i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16));
}

/** The four float32 lanes of v rounded (to nearest even) to float16 or bfloat16, stored at p. */
// @ts-ignore: decorator
@inline
export function storeHalf4(p: usize, v: v128, bf16: bool): void {
  let bits: v128;
  if (bf16) {
    const rounded = i32x4.shr_u(i32x4.add(i32x4.add(v, i32x4.splat(0x7fff)), v128.and(i32x4.shr_u(v, 16), i32x4.splat(1))), 16);
    bits = v128.bitselect(i32x4.splat(0x7fc0), rounded, f32x4.ne(v, v));
  } else {
    const sign = v128.and(v, i32x4.splat(0x80000000));
    const f = v128.xor(v, sign);
    // Normal results: rebias, round at bit 13 to nearest even.
    const odd = v128.and(i32x4.shr_u(f, 13), i32x4.splat(1));
    const normal = i32x4.shr_u(i32x4.add(i32x4.add(f, i32x4.splat(((15 - 127) << 23) + 0xfff)), odd), 13);
    // Subnormal results: adding 0.5 puts the float16 subnormal's bits at the bottom, rounded by the FPU.
    const sub = i32x4.sub(f32x4.add(f, f32x4.splat(0.5)), f32x4.splat(0.5));
    let h = v128.bitselect(sub, normal, i32x4.lt_s(f, i32x4.splat(113 << 23)));
    // Overflow to infinity; NaN to the quiet NaN.
    h = v128.bitselect(i32x4.splat(0x7c00), h, i32x4.ge_s(f, i32x4.splat((127 + 16) << 23)));
    h = v128.bitselect(i32x4.splat(0x7e00), h, i32x4.gt_s(f, i32x4.splat(0x7f800000)));
    bits = v128.or(h, i32x4.shr_u(sign, 16));
  }
  v128.store64_lane(p, i16x8.narrow_i32x4_u(bits, bits), 0);
}

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

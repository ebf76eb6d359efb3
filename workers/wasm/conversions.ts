// Dtype conversions of dense operands (`to(dtype)`, autocast's casts): float32 to and from
// float16, bfloat16 and float64. Each rounds once, to nearest even, as the JS kernels do
// (src/protocol/half.ts); float64 to a half type stays in JS, which rounds it once from the
// double.
import { bfloat16ToF32, f32ToBfloat16, f32ToFloat16, float16ToF32, loadHalf4, storeHalf4 } from './half';

/** o[i] = x[i] (float32) rounded to float16 (bf16 false) or bfloat16, for n elements. */
export function f32ToHalf(x: usize, o: usize, n: usize, bf16: bool): void {
  let i: usize = 0;
  for (; i + 4 <= n; i += 4) storeHalf4(o + (i << 1), v128.load(x + (i << 2)), bf16);
  for (; i < n; i++) store<u16>(o + (i << 1), <u16>(bf16 ? f32ToBfloat16(load<f32>(x + (i << 2))) : f32ToFloat16(load<f32>(x + (i << 2)))));
}

/** o[i] = x[i] (float16 or bfloat16) widened to float32 (exact), for n elements. */
export function halfToF32(x: usize, o: usize, n: usize, bf16: bool): void {
  let i: usize = 0;
  for (; i + 4 <= n; i += 4) v128.store(o + (i << 2), loadHalf4(x + (i << 1), bf16));
  for (; i < n; i++) store<f32>(o + (i << 2), bf16 ? bfloat16ToF32(load<u16>(x + (i << 1))) : float16ToF32(load<u16>(x + (i << 1))));
}

/** o[i] = x[i] (float32) widened to float64 (exact), for n elements. */
export function f32ToF64(x: usize, o: usize, n: usize): void {
  let i: usize = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(x + (i << 2));
    v128.store(o + (i << 3), f64x2.promote_low_f32x4(v));
    v128.store(o + (i << 3), f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1)), 16);
  }
  for (; i < n; i++) store<f64>(o + (i << 3), <f64>load<f32>(x + (i << 2)));
}

/** o[i] = x[i] (float64) rounded to float32, for n elements. */
export function f64ToF32(x: usize, o: usize, n: usize): void {
  let i: usize = 0;
  for (; i + 4 <= n; i += 4) {
    const lo = f32x4.demote_f64x2_zero(v128.load(x + (i << 3)));
    const hi = f32x4.demote_f64x2_zero(v128.load(x + (i << 3), 16));
    v128.store(o + (i << 2), i64x2.shuffle(lo, hi, 0, 2));
  }
  for (; i < n; i++) store<f32>(o + (i << 2), <f32>load<f64>(x + (i << 3)));
}

// Comparisons of dense float operands into bool masks: one byte, 0 or 1, per element.
// float32 and float64 compare in their own precision; float16 and bfloat16 widened to float32
// (exact). NaN compares false but for NE, as IEEE and PyTorch have it.
import { bfloat16ToF32, float16ToF32, loadHalf4 } from './half';

// Op codes, exported as globals (workers/simd-paths.ts maps openreg's BinaryOp to their names).
export const EQ = 0;
export const NE = 1;
export const LT = 2;
export const LE = 3;
export const GT = 4;
export const GE = 5;

/** All-ones lanes where x op y, as the lane type T compares. */
// @ts-ignore: decorator
@inline
function compareLanes<T>(op: i32, x: v128, y: v128): v128 {
  if (op == EQ) return v128.eq<T>(x, y);
  if (op == NE) return v128.ne<T>(x, y);
  if (op == LT) return v128.lt<T>(x, y);
  if (op == LE) return v128.le<T>(x, y);
  if (op == GT) return v128.gt<T>(x, y);
  return v128.ge<T>(x, y);
}

// @ts-ignore: decorator
@inline
function compareOne<T>(op: i32, x: T, y: T): u8 {
  if (op == EQ) return <u8>(x == y);
  if (op == NE) return <u8>(x != y);
  if (op == LT) return <u8>(x < y);
  if (op == LE) return <u8>(x <= y);
  if (op == GT) return <u8>(x > y);
  return <u8>(x >= y);
}

/** Sixteen 32-bit masks (four vectors) as sixteen bytes of 0 or 1. */
// @ts-ignore: decorator
@inline
function maskBytes(m0: v128, m1: v128, m2: v128, m3: v128): v128 {
  return v128.and(i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(m0, m1), i16x8.narrow_i32x4_s(m2, m3)), i8x16.splat(1));
}

/** Two float64 masks (four elements) as one vector of four 32-bit masks. */
// @ts-ignore: decorator
@inline
function masks64To32(m0: v128, m1: v128): v128 {
  return v128.shuffle<i32>(m0, m1, 0, 2, 4, 6);
}

/** The lanes at byte `offset` of a compared with those of b, or with y when b is a scalar. */
// @ts-ignore: decorator
@inline
function lanesAt<T>(op: i32, a: usize, b: usize, offset: usize, scalar: bool, y: v128): v128 {
  return compareLanes<T>(op, v128.load(a + offset), scalar ? y : v128.load(b + offset));
}

/** o[i] = a[i] op (s, or b[i]) for n float32 or float64 elements, sixteen per vector of bytes. */
// @ts-ignore: decorator
@inline
function compareLoop<T>(op: i32, a: usize, b: usize, scalar: bool, s: T, o: usize, n: usize): void {
  const y = v128.splat<T>(s);
  const size = sizeof<T>();
  let i: usize = 0;
  for (; i + 16 <= n; i += 16) {
    const p = a + i * size;
    const q = b + i * size;
    // Four vectors of float32 give sixteen masks; float64 takes eight, pairs narrowed to four.
    const m0 = size == 4 ? lanesAt<T>(op, p, q, 0, scalar, y) : masks64To32(lanesAt<T>(op, p, q, 0, scalar, y), lanesAt<T>(op, p, q, 16, scalar, y));
    const m1 = size == 4 ? lanesAt<T>(op, p, q, 16, scalar, y) : masks64To32(lanesAt<T>(op, p, q, 32, scalar, y), lanesAt<T>(op, p, q, 48, scalar, y));
    const m2 = size == 4 ? lanesAt<T>(op, p, q, 32, scalar, y) : masks64To32(lanesAt<T>(op, p, q, 64, scalar, y), lanesAt<T>(op, p, q, 80, scalar, y));
    const m3 = size == 4 ? lanesAt<T>(op, p, q, 48, scalar, y) : masks64To32(lanesAt<T>(op, p, q, 96, scalar, y), lanesAt<T>(op, p, q, 112, scalar, y));
    v128.store(o + i, maskBytes(m0, m1, m2, m3));
  }
  for (; i < n; i++) store<u8>(o + i, compareOne<T>(op, load<T>(a + i * size), scalar ? s : load<T>(b + i * size)));
}

// @ts-ignore: decorator
@inline
function halfAt(p: usize, bf16: bool): f32 {
  return bf16 ? bfloat16ToF32(load<u16>(p)) : float16ToF32(load<u16>(p));
}

function compareLoopHalf(op: i32, a: usize, b: usize, scalar: bool, s: f32, o: usize, n: usize, bf16: bool): void {
  const y = f32x4.splat(s);
  let i: usize = 0;
  for (; i + 16 <= n; i += 16) {
    const p = a + (i << 1);
    const q = b + (i << 1);
    const m0 = compareLanes<f32>(op, loadHalf4(p, bf16), scalar ? y : loadHalf4(q, bf16));
    const m1 = compareLanes<f32>(op, loadHalf4(p + 8, bf16), scalar ? y : loadHalf4(q + 8, bf16));
    const m2 = compareLanes<f32>(op, loadHalf4(p + 16, bf16), scalar ? y : loadHalf4(q + 16, bf16));
    const m3 = compareLanes<f32>(op, loadHalf4(p + 24, bf16), scalar ? y : loadHalf4(q + 24, bf16));
    v128.store(o + i, maskBytes(m0, m1, m2, m3));
  }
  for (; i < n; i++) store<u8>(o + i, compareOne<f32>(op, halfAt(a + (i << 1), bf16), scalar ? s : halfAt(b + (i << 1), bf16)));
}

// One loop per op and form, the comparison inlined into each (the op is a constant in every call).

function compareRun<T>(op: i32, a: usize, b: usize, scalar: bool, s: T, o: usize, n: usize): void {
  if (op == EQ) compareLoop<T>(EQ, a, b, scalar, s, o, n);
  else if (op == NE) compareLoop<T>(NE, a, b, scalar, s, o, n);
  else if (op == LT) compareLoop<T>(LT, a, b, scalar, s, o, n);
  else if (op == LE) compareLoop<T>(LE, a, b, scalar, s, o, n);
  else if (op == GT) compareLoop<T>(GT, a, b, scalar, s, o, n);
  else compareLoop<T>(GE, a, b, scalar, s, o, n);
}

/** o[i] = a[i] op b[i] for n float32 elements, as bytes 0 or 1. */
export function compareF32(op: i32, a: usize, b: usize, o: usize, n: usize): void {
  compareRun<f32>(op, a, b, false, 0, o, n);
}

/** o[i] = a[i] op s for n float32 elements. */
export function compareScalarF32(op: i32, a: usize, s: f32, o: usize, n: usize): void {
  compareRun<f32>(op, a, 0, true, s, o, n);
}

/** compareF32 over float64. */
export function compareF64(op: i32, a: usize, b: usize, o: usize, n: usize): void {
  compareRun<f64>(op, a, b, false, 0, o, n);
}

/** compareScalarF32 over float64. */
export function compareScalarF64(op: i32, a: usize, s: f64, o: usize, n: usize): void {
  compareRun<f64>(op, a, 0, true, s, o, n);
}

/** compareF32 over float16 (bf16 false) or bfloat16 values, widened to float32. */
export function compareHalf(op: i32, a: usize, b: usize, o: usize, n: usize, bf16: bool): void {
  compareLoopHalf(op, a, b, false, 0, o, n, bf16);
}

/** compareScalarF32 over float16 or bfloat16 values; s is a float32 value. */
export function compareScalarHalf(op: i32, a: usize, s: f32, o: usize, n: usize, bf16: bool): void {
  compareLoopHalf(op, a, 0, true, s, o, n, bf16);
}

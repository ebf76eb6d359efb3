// Elementwise kernels over dense operands (float32; float64 for the binary ones; float16 and
// bfloat16 through float32): pointers are byte offsets in the device's memory, n counts
// elements. Each op's lane function is inlined into its own loop (the op code is a constant
// in every call of the loops).
import { expF32x4, logF32x4, sigmoidF32x4, tanhF32x4 } from './vector-math';
import { bfloat16ToF32, f32ToBfloat16, f32ToFloat16, float16ToF32, loadHalf4, storeHalf4 } from './half';

// Binary op codes, exported as globals (workers/simd-paths.ts maps openreg's BinaryOp to their names).
export const ADD = 0;
export const SUB = 1;
export const MUL = 2;
export const DIV = 3;
export const MAXIMUM = 4;
export const MINIMUM = 5;
export const THRESHOLD_BACKWARD = 6;

// The binary kernels are generic over the lane type T (f32: four lanes, f64: two).

// @ts-ignore: decorator
@inline
function binaryLanes<T>(op: i32, x: v128, y: v128): v128 {
  if (op == ADD) return v128.add<T>(x, y);
  if (op == SUB) return v128.sub<T>(x, y);
  if (op == MUL) return v128.mul<T>(x, y);
  if (op == DIV) return v128.div<T>(x, y);
  // wasm's min and max propagate NaN, as torch.maximum and torch.minimum do.
  if (op == MAXIMUM) return v128.max<T>(x, y);
  if (op == MINIMUM) return v128.min<T>(x, y);
  // relu's backward: the gradient x where the input y > 0 (NaN inputs give 0).
  return v128.and(x, v128.gt<T>(y, v128.splat<T>(0)));
}

/** One element of `binaryLanes`, for the tails. */
// @ts-ignore: decorator
@inline
function binaryOne<T>(op: i32, a: usize, y: v128, o: usize): void {
  store<T>(o, v128.extract_lane<T>(binaryLanes<T>(op, v128.splat<T>(load<T>(a)), y), 0));
}

/** o[i] = a[i] op y (y splat in every lane) for i < n. */
// @ts-ignore: decorator
@inline
function scalarLoop<T>(op: i32, a: usize, y: v128, o: usize, n: usize): void {
  const lanes = <usize>(16 / sizeof<T>());
  let i: usize = 0;
  for (; i + lanes <= n; i += lanes) v128.store(o + i * sizeof<T>(), binaryLanes<T>(op, v128.load(a + i * sizeof<T>()), y));
  for (; i < n; i++) binaryOne<T>(op, a + i * sizeof<T>(), y, o + i * sizeof<T>());
}

/** o[i] = a[i] op b[i] for i < n. */
// @ts-ignore: decorator
@inline
function denseLoop<T>(op: i32, a: usize, b: usize, o: usize, n: usize): void {
  const lanes = <usize>(16 / sizeof<T>());
  let i: usize = 0;
  for (; i + 2 * lanes <= n; i += 2 * lanes) {
    const at = i * sizeof<T>();
    v128.store(o + at, binaryLanes<T>(op, v128.load(a + at), v128.load(b + at)));
    v128.store(o + at + 16, binaryLanes<T>(op, v128.load(a + at + 16), v128.load(b + at + 16)));
  }
  for (; i < n; i++) binaryOne<T>(op, a + i * sizeof<T>(), v128.splat<T>(load<T>(b + i * sizeof<T>())), o + i * sizeof<T>());
}

function denseRun<T>(op: i32, a: usize, b: usize, o: usize, n: usize): void {
  if (op == ADD) denseLoop<T>(ADD, a, b, o, n);
  else if (op == SUB) denseLoop<T>(SUB, a, b, o, n);
  else if (op == MUL) denseLoop<T>(MUL, a, b, o, n);
  else if (op == DIV) denseLoop<T>(DIV, a, b, o, n);
  else if (op == MAXIMUM) denseLoop<T>(MAXIMUM, a, b, o, n);
  else if (op == MINIMUM) denseLoop<T>(MINIMUM, a, b, o, n);
  else denseLoop<T>(THRESHOLD_BACKWARD, a, b, o, n);
}

function scalarRun<T>(op: i32, a: usize, y: v128, o: usize, n: usize): void {
  if (op == ADD) scalarLoop<T>(ADD, a, y, o, n);
  else if (op == SUB) scalarLoop<T>(SUB, a, y, o, n);
  else if (op == MUL) scalarLoop<T>(MUL, a, y, o, n);
  else if (op == DIV) scalarLoop<T>(DIV, a, y, o, n);
  else if (op == MAXIMUM) scalarLoop<T>(MAXIMUM, a, y, o, n);
  else if (op == MINIMUM) scalarLoop<T>(MINIMUM, a, y, o, n);
  else scalarLoop<T>(THRESHOLD_BACKWARD, a, y, o, n);
}

/** o = a op b, all of n elements. */
export function binaryF32(op: i32, a: usize, b: usize, o: usize, n: usize): void {
  denseRun<f32>(op, a, b, o, n);
}

/** o = a op s, a scalar (rounded to float32 first, as PyTorch's CPU kernels do). */
export function binaryScalarF32(op: i32, a: usize, s: f32, o: usize, n: usize): void {
  scalarRun<f32>(op, a, f32x4.splat(s), o, n);
}

/** binaryF32 over float64. */
export function binaryF64(op: i32, a: usize, b: usize, o: usize, n: usize): void {
  denseRun<f64>(op, a, b, o, n);
}

/** binaryScalarF32 over float64. */
export function binaryScalarF64(op: i32, a: usize, s: f64, o: usize, n: usize): void {
  scalarRun<f64>(op, a, f64x2.splat(s), o, n);
}

/** o[r, c] = a[r, c] op b[c]: b broadcast over the rows (a bias added to a batch). */
export function binaryRowsF32(op: i32, a: usize, b: usize, o: usize, rows: usize, cols: usize): void {
  binaryRows<f32>(op, a, b, o, rows, cols);
}

/** o[r, c] = a[r, c] op b[r]: b broadcast along each row. */
export function binaryColsF32(op: i32, a: usize, b: usize, o: usize, rows: usize, cols: usize): void {
  binaryCols<f32>(op, a, b, o, rows, cols);
}

/** o = a + alpha·b (add and sub with alpha; sub passes -alpha). */
export function axpyF32(a: usize, b: usize, alpha: f32, o: usize, n: usize): void {
  axpy<f32>(a, b, alpha, o, n);
}

/** binaryRowsF32 over float64. */
export function binaryRowsF64(op: i32, a: usize, b: usize, o: usize, rows: usize, cols: usize): void {
  binaryRows<f64>(op, a, b, o, rows, cols);
}

/** binaryColsF32 over float64. */
export function binaryColsF64(op: i32, a: usize, b: usize, o: usize, rows: usize, cols: usize): void {
  binaryCols<f64>(op, a, b, o, rows, cols);
}

/** axpyF32 over float64. */
export function axpyF64(a: usize, b: usize, alpha: f64, o: usize, n: usize): void {
  axpy<f64>(a, b, alpha, o, n);
}

// @ts-ignore: decorator
@inline
function binaryRows<T>(op: i32, a: usize, b: usize, o: usize, rows: usize, cols: usize): void {
  const stride = cols * sizeof<T>();
  for (let r: usize = 0; r < rows; r++) denseRun<T>(op, a + r * stride, b, o + r * stride, cols);
}

// @ts-ignore: decorator
@inline
function binaryCols<T>(op: i32, a: usize, b: usize, o: usize, rows: usize, cols: usize): void {
  const stride = cols * sizeof<T>();
  for (let r: usize = 0; r < rows; r++) scalarRun<T>(op, a + r * stride, v128.splat<T>(load<T>(b + r * sizeof<T>())), o + r * stride, cols);
}

// @ts-ignore: decorator
@inline
function axpy<T>(a: usize, b: usize, alpha: T, o: usize, n: usize): void {
  const lanes = <usize>(16 / sizeof<T>());
  const s = v128.splat<T>(alpha);
  let i: usize = 0;
  for (; i + lanes <= n; i += lanes) v128.store(o + i * sizeof<T>(), v128.add<T>(v128.load(a + i * sizeof<T>()), v128.mul<T>(s, v128.load(b + i * sizeof<T>()))));
  for (; i < n; i++) store<T>(o + i * sizeof<T>(), load<T>(a + i * sizeof<T>()) + alpha * load<T>(b + i * sizeof<T>()));
}

// Unary op codes, exported as globals like the binary ones.
export const NEG = 0;
export const ABS = 1;
export const RELU = 2;
export const SQRT = 3;
export const EXP = 4;
export const LOG = 5;
export const TANH = 6;
export const SIGMOID = 7;
export const RELU_GRAD = 8;

// @ts-ignore: decorator
@inline
function unaryLanes(op: i32, x: v128): v128 {
  if (op == NEG) return f32x4.neg(x);
  if (op == ABS) return f32x4.abs(x);
  // relu keeps NaN (x > 0 is false for it, so select x where x is NaN too).
  if (op == RELU) return v128.bitselect(x, f32x4.splat(0), v128.or(f32x4.gt(x, f32x4.splat(0)), f32x4.ne(x, x)));
  if (op == SQRT) return f32x4.sqrt(x);
  if (op == EXP) return expF32x4(x);
  if (op == LOG) return logF32x4(x);
  if (op == TANH) return tanhF32x4(x);
  if (op == SIGMOID) return sigmoidF32x4(x);
  return v128.and(f32x4.gt(x, f32x4.splat(0)), f32x4.splat(1));
}

// @ts-ignore: decorator
@inline
function unaryLoop(op: i32, x: usize, o: usize, n: usize): void {
  let i: usize = 0;
  for (; i + 4 <= n; i += 4) v128.store(o + (i << 2), unaryLanes(op, v128.load(x + (i << 2))));
  for (; i < n; i++) v128.store32_lane(o + (i << 2), unaryLanes(op, v128.load32_splat(x + (i << 2))), 0);
}

// One export per op, each with its lane function inlined into its own loop (a shared loop
// switching on the op would run the switch per vector).
export function negF32(x: usize, o: usize, n: usize): void { unaryLoop(NEG, x, o, n); }
export function absF32(x: usize, o: usize, n: usize): void { unaryLoop(ABS, x, o, n); }
export function reluF32(x: usize, o: usize, n: usize): void { unaryLoop(RELU, x, o, n); }
export function sqrtF32(x: usize, o: usize, n: usize): void { unaryLoop(SQRT, x, o, n); }
export function expF32(x: usize, o: usize, n: usize): void { unaryLoop(EXP, x, o, n); }
export function logF32(x: usize, o: usize, n: usize): void { unaryLoop(LOG, x, o, n); }
export function tanhF32(x: usize, o: usize, n: usize): void { unaryLoop(TANH, x, o, n); }
export function sigmoidF32(x: usize, o: usize, n: usize): void { unaryLoop(SIGMOID, x, o, n); }
export function reluGradF32(x: usize, o: usize, n: usize): void { unaryLoop(RELU_GRAD, x, o, n); }

// float64: the ops whose result IEEE fixes exactly (float64 exp, log, tanh and sigmoid stay in
// JavaScript's Math, which computes them in doubles already).

// @ts-ignore: decorator
@inline
function unaryLanesF64(op: i32, x: v128): v128 {
  if (op == NEG) return f64x2.neg(x);
  if (op == ABS) return f64x2.abs(x);
  if (op == RELU) return v128.bitselect(x, f64x2.splat(0), v128.or(f64x2.gt(x, f64x2.splat(0)), f64x2.ne(x, x)));
  if (op == SQRT) return f64x2.sqrt(x);
  return v128.and(f64x2.gt(x, f64x2.splat(0)), f64x2.splat(1));
}

// @ts-ignore: decorator
@inline
function unaryLoopF64(op: i32, x: usize, o: usize, n: usize): void {
  let i: usize = 0;
  for (; i + 2 <= n; i += 2) v128.store(o + (i << 3), unaryLanesF64(op, v128.load(x + (i << 3))));
  if (i < n) v128.store64_lane(o + (i << 3), unaryLanesF64(op, v128.load64_splat(x + (i << 3))), 0);
}

export function negF64(x: usize, o: usize, n: usize): void { unaryLoopF64(NEG, x, o, n); }
export function absF64(x: usize, o: usize, n: usize): void { unaryLoopF64(ABS, x, o, n); }
export function reluF64(x: usize, o: usize, n: usize): void { unaryLoopF64(RELU, x, o, n); }
export function sqrtF64(x: usize, o: usize, n: usize): void { unaryLoopF64(SQRT, x, o, n); }
export function reluGradF64(x: usize, o: usize, n: usize): void { unaryLoopF64(RELU_GRAD, x, o, n); }

// float16 and bfloat16 (bf16 true): lanes widened to float32, computed as the float32
// kernels compute, rounded once back. The op is chosen per vector: the conversions dominate.

function binaryLanesAny(op: i32, x: v128, y: v128): v128 {
  return binaryLanes<f32>(op, x, y);
}

function unaryLanesAny(op: i32, x: v128): v128 {
  return unaryLanes(op, x);
}

/** Up to four half values at p (count < 4 reads only those), widened. */
// @ts-ignore: decorator
@inline
function loadHalfLanes(p: usize, count: usize, bf16: bool): v128 {
  if (count >= 4) return loadHalf4(p, bf16);
  let v = f32x4.splat(0);
  if (count > 0) v = f32x4.replace_lane(v, 0, bf16 ? bfloat16ToF32(load<u16>(p)) : float16ToF32(load<u16>(p)));
  if (count > 1) v = f32x4.replace_lane(v, 1, bf16 ? bfloat16ToF32(load<u16>(p + 2)) : float16ToF32(load<u16>(p + 2)));
  if (count > 2) v = f32x4.replace_lane(v, 2, bf16 ? bfloat16ToF32(load<u16>(p + 4)) : float16ToF32(load<u16>(p + 4)));
  return v;
}

/** The first `count` lanes of v (all four when count ≥ 4), rounded to half precision, at p. */
// @ts-ignore: decorator
@inline
function storeHalfLanes(p: usize, v: v128, count: usize, bf16: bool): void {
  if (count >= 4) {
    storeHalf4(p, v, bf16);
    return;
  }
  if (count > 0) store<u16>(p, <u16>(bf16 ? f32ToBfloat16(f32x4.extract_lane(v, 0)) : f32ToFloat16(f32x4.extract_lane(v, 0))));
  if (count > 1) store<u16>(p + 2, <u16>(bf16 ? f32ToBfloat16(f32x4.extract_lane(v, 1)) : f32ToFloat16(f32x4.extract_lane(v, 1))));
  if (count > 2) store<u16>(p + 4, <u16>(bf16 ? f32ToBfloat16(f32x4.extract_lane(v, 2)) : f32ToFloat16(f32x4.extract_lane(v, 2))));
}

/** o = a op (alpha·b) over n dense half values; b is dense, or (scalar) the value s in every lane. */
function binaryHalfRun(op: i32, a: usize, b: usize, scalar: bool, s: f32, alpha: f32, o: usize, n: usize, bf16: bool): void {
  const scale = f32x4.splat(alpha);
  const y0 = f32x4.splat(s);
  for (let i: usize = 0; i < n; i += 4) {
    const count = min(<usize>4, n - i);
    const y = scalar ? y0 : f32x4.mul(loadHalfLanes(b + (i << 1), count, bf16), scale);
    storeHalfLanes(o + (i << 1), binaryLanesAny(op, loadHalfLanes(a + (i << 1), count, bf16), y), count, bf16);
  }
}

/** o = a op alpha·b, all of n half-precision elements. */
export function binaryHalf(op: i32, a: usize, b: usize, alpha: f32, o: usize, n: usize, bf16: bool): void {
  binaryHalfRun(op, a, b, false, 0, alpha, o, n, bf16);
}

/** o = a op s (s already alpha·scalar, rounded to float32). */
export function binaryScalarHalf(op: i32, a: usize, s: f32, o: usize, n: usize, bf16: bool): void {
  binaryHalfRun(op, a, 0, true, s, 1, o, n, bf16);
}

/** o[r, c] = a[r, c] op b[c]. */
export function binaryRowsHalf(op: i32, a: usize, b: usize, o: usize, rows: usize, cols: usize, bf16: bool): void {
  for (let r: usize = 0; r < rows; r++) binaryHalfRun(op, a + ((r * cols) << 1), b, false, 0, 1, o + ((r * cols) << 1), cols, bf16);
}

/** o[r, c] = a[r, c] op b[r]. */
export function binaryColsHalf(op: i32, a: usize, b: usize, o: usize, rows: usize, cols: usize, bf16: bool): void {
  for (let r: usize = 0; r < rows; r++) {
    const s = bf16 ? bfloat16ToF32(load<u16>(b + (r << 1))) : float16ToF32(load<u16>(b + (r << 1)));
    binaryHalfRun(op, a + ((r * cols) << 1), 0, true, s, 1, o + ((r * cols) << 1), cols, bf16);
  }
}

/** o = op(x) over n half-precision elements (op: the unary codes above). */
export function unaryHalf(op: i32, x: usize, o: usize, n: usize, bf16: bool): void {
  for (let i: usize = 0; i < n; i += 4) {
    const count = min(<usize>4, n - i);
    storeHalfLanes(o + (i << 1), unaryLanesAny(op, loadHalfLanes(x + (i << 1), count, bf16)), count, bf16);
  }
}

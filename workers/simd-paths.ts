/**
 * When a tensor kernel's launch is a case the wasm SIMD kernels cover (dense float32,
 * float16 and bfloat16; float64 arithmetic, reductions and matmul), it runs there instead of
 * the JS loops: each function here says whether it took the launch. Integer dtypes, general
 * strides and unusual broadcasts stay on the JS kernels.
 */
import { type TensorArg, isDenseOver } from '../src/protocol/kernel-abi.js';
import { BinaryOp, DTypeCode, ReduceOp, SCALAR_OPERAND, UnaryOp } from '../src/protocol/tensor-abi.js';
import { type SimdExports, type WasmOpName, simdKernels } from './simd-kernels.js';
import { KERNEL_WORKSPACE_BYTES } from '../src/protocol/wasm-memory.js';

const F32 = DTypeCode.float32;
const F64 = DTypeCode.float64;

// The wasm op (its code is the module's exported global of that name) of each binary op it has.
const BINARY_OP: Partial<Record<number, WasmOpName>> = {
  [BinaryOp.add]: 'ADD',
  [BinaryOp.sub]: 'SUB',
  [BinaryOp.mul]: 'MUL',
  [BinaryOp.div]: 'DIV',
  [BinaryOp.maximum]: 'MAXIMUM',
  [BinaryOp.minimum]: 'MINIMUM',
  [BinaryOp.thresholdBackward]: 'THRESHOLD_BACKWARD',
};
const COMMUTATIVE = new Set<number>([BinaryOp.add, BinaryOp.mul, BinaryOp.maximum, BinaryOp.minimum]);
// Each unary op the wasm module has: its op (the half-precision kernel takes its code), its
// float32 export and, for the exactly rounded ones, its float64 export.
interface UnaryKernels {
  code: WasmOpName;
  f32: keyof SimdExports;
  f64?: keyof SimdExports;
}
const UNARY: Partial<Record<number, UnaryKernels>> = {
  [UnaryOp.neg]: { code: 'NEG', f32: 'negF32', f64: 'negF64' },
  [UnaryOp.abs]: { code: 'ABS', f32: 'absF32', f64: 'absF64' },
  [UnaryOp.relu]: { code: 'RELU', f32: 'reluF32', f64: 'reluF64' },
  [UnaryOp.sqrt]: { code: 'SQRT', f32: 'sqrtF32', f64: 'sqrtF64' },
  [UnaryOp.exp]: { code: 'EXP', f32: 'expF32' },
  [UnaryOp.log]: { code: 'LOG', f32: 'logF32' },
  [UnaryOp.tanh]: { code: 'TANH', f32: 'tanhF32' },
  [UnaryOp.sigmoid]: { code: 'SIGMOID', f32: 'sigmoidF32' },
  [UnaryOp.reluGrad]: { code: 'RELU_GRAD', f32: 'reluGradF32', f64: 'reluGradF64' },
};


function product(shape: readonly number[], from: number, to: number): number {
  let n = 1;
  for (let d = from; d < to; d++) n *= shape[d]!;
  return n;
}

const dense = (t: TensorArg) => isDenseOver(t.shape, t.strides, 0, t.ndim);

/** True if `t` has `out`'s shape, laid out densely (not broadcast, not a scalar): element i of one is element i of the other. */
export const denseAs = (t: TensorArg, out: TensorArg) => t.numel === out.numel && t.ndim === out.ndim && isDenseOver(out.shape, t.strides, 0, out.ndim);

/** out = op(x) over dense float32, float16 or bfloat16 operands (float64: the exactly rounded ops); identity converts dtypes. */
export function unarySimd(op: number, out: TensorArg, x: TensorArg): boolean {
  if (op === UnaryOp.identity) return convertSimd(out, x);
  const s = simdKernels();
  const kernels = UNARY[op];
  if (s === undefined || kernels === undefined || x.dtype !== out.dtype || out.numel === 0 || !dense(out) || !dense(x)) return false;
  const flat = out.dtype === F32 ? kernels.f32 : out.dtype === F64 ? kernels.f64 : undefined;
  if (isHalf(out.dtype)) s.exports.unaryHalf(s.exports[kernels.code].value, s.input(x), s.output(out), out.numel, bf16(out.dtype));
  else if (flat !== undefined) (s.exports[flat] as (x: number, o: number, n: number) => void)(s.input(x), s.output(out), out.numel);
  else return false;
  s.finish();
  return true;
}

/** A dense dtype conversion between float32 and float16, bfloat16 or float64 (a copy within one dtype stays a TypedArray.set). */
function convertSimd(out: TensorArg, x: TensorArg): boolean {
  const s = simdKernels();
  const from = x.dtype;
  const to = out.dtype;
  const widen = isHalf(from) && to === F32;
  const narrow = from === F32 && isHalf(to);
  const toF64 = from === F32 && to === F64;
  const toF32 = from === F64 && to === F32;
  if (s === undefined || !(widen || narrow || toF64 || toF32) || out.numel === 0 || !dense(out) || !dense(x)) return false;
  const src = s.input(x);
  const dst = s.output(out);
  const n = out.numel;
  if (widen) s.exports.halfToF32(src, dst, n, bf16(from));
  else if (narrow) s.exports.f32ToHalf(src, dst, n, bf16(to));
  else if (toF64) s.exports.f32ToF64(src, dst, n);
  else s.exports.f64ToF32(src, dst, n);
  s.finish();
  return true;
}

/** out = op(a, alpha·b) where b is as dense as a, a scalar, or broadcast along rows or columns of out. */
export function binarySimd(op: number, out: TensorArg, a: TensorArg, b: TensorArg, alpha: number): boolean {
  // x to the power 2 is x·x: pow rounds the exact square once, and so does a float32 or float64
  // product (a half one is exact in float32, then rounded once), so the bits are the same.
  if (op === BinaryOp.pow && b.dtype === SCALAR_OPERAND && b.value === 2) {
    op = BinaryOp.mul;
    b = a;
  }
  const s = simdKernels();
  const name = BINARY_OP[op];
  const k = BINARY[out.dtype];
  if (s === undefined || name === undefined || k === undefined || a.dtype !== out.dtype || out.numel === 0) return false;
  const scale = op === BinaryOp.add || op === BinaryOp.sub ? alpha : 1;
  const n = out.numel;
  if (!dense(out)) return false;
  if (!denseAs(a, out)) {
    // A broadcast first operand of a commutative op (bias + x) takes the same kernels, swapped.
    if (!COMMUTATIVE.has(op) || scale !== 1 || b.dtype !== out.dtype || !denseAs(b, out)) return false;
    const first = a;
    a = b;
    b = first;
  }
  const x = s.exports;
  const code = x[name].value;
  if (b.dtype === SCALAR_OPERAND) {
    k.scalar(x, code, s.input(a), k.round(scale * b.value), s.output(out), n);
  } else if (b.dtype !== out.dtype) {
    return false;
  } else if (denseAs(b, out)) {
    k.dense(x, code, s.input(a), s.input(b), scale, s.output(out), n);
  } else {
    if (scale !== 1) return false;
    const split = broadcastSplit(out.shape, b);
    if (split === undefined) return false;
    const [rows, cols, alongRows] = split;
    (alongRows ? k.rows : k.cols)(x, code, s.input(a), s.input(b), s.output(out), rows, cols);
  }
  s.finish();
  return true;
}

const COMPARE_OP: Partial<Record<number, WasmOpName>> = {
  [BinaryOp.eq]: 'EQ',
  [BinaryOp.ne]: 'NE',
  [BinaryOp.lt]: 'LT',
  [BinaryOp.le]: 'LE',
  [BinaryOp.gt]: 'GT',
  [BinaryOp.ge]: 'GE',
};

/**
 * A comparison into a dense bool out, of a dense float operand with a scalar or a same-shape
 * operand of its dtype. A scalar not exactly a float32 (for a float32 or half operand) is
 * left to the JS kernel, which compares in doubles.
 */
export function compareSimd(op: number, out: TensorArg, a: TensorArg, b: TensorArg): boolean {
  const s = simdKernels();
  const name = COMPARE_OP[op];
  const t = a.dtype;
  if (s === undefined || name === undefined || out.dtype !== DTypeCode.bool || out.numel === 0 || (t !== F32 && t !== F64 && !isHalf(t))) return false;
  const n = out.numel;
  if (!dense(out) || !denseAs(a, out)) return false;
  const x = s.exports;
  const code = x[name].value;
  if (b.dtype === SCALAR_OPERAND) {
    const v = b.value;
    if (t !== F64 && Math.fround(v) !== v && !Number.isNaN(v)) return false;
    if (t === F32) x.compareScalarF32(code, s.input(a), v, s.output(out), n);
    else if (t === F64) x.compareScalarF64(code, s.input(a), v, s.output(out), n);
    else x.compareScalarHalf(code, s.input(a), v, s.output(out), n, bf16(t));
  } else if (b.dtype === t && denseAs(b, out)) {
    if (t === F32) x.compareF32(code, s.input(a), s.input(b), s.output(out), n);
    else if (t === F64) x.compareF64(code, s.input(a), s.input(b), s.output(out), n);
    else x.compareHalf(code, s.input(a), s.input(b), s.output(out), n, bf16(t));
  } else {
    return false;
  }
  s.finish();
  return true;
}

/** The binary kernels of one dtype (wasm op codes; pointers into the kernels' memory), and how a scalar operand is rounded for them. */
interface BinaryKernels {
  /** o = a op alpha·b (alpha is 1 but for add and sub). */
  dense(x: SimdExports, op: number, a: number, b: number, alpha: number, o: number, n: number): void;
  scalar(x: SimdExports, op: number, a: number, s: number, o: number, n: number): void;
  rows(x: SimdExports, op: number, a: number, b: number, o: number, rows: number, cols: number): void;
  cols(x: SimdExports, op: number, a: number, b: number, o: number, rows: number, cols: number): void;
  round(v: number): number;
}

// float32 and float64 scale b by alpha in axpy (a + alpha·b; sub passes −alpha); the halves in their one kernel.
const BINARY_F32: BinaryKernels = {
  dense: (x, op, a, b, alpha, o, n) => (alpha === 1 ? x.binaryF32(op, a, b, o, n) : x.axpyF32(a, b, op === x.SUB.value ? -alpha : alpha, o, n)),
  scalar: (x, op, a, v, o, n) => x.binaryScalarF32(op, a, v, o, n),
  rows: (x, op, a, b, o, r, c) => x.binaryRowsF32(op, a, b, o, r, c),
  cols: (x, op, a, b, o, r, c) => x.binaryColsF32(op, a, b, o, r, c),
  round: Math.fround,
};
const BINARY_F64: BinaryKernels = {
  dense: (x, op, a, b, alpha, o, n) => (alpha === 1 ? x.binaryF64(op, a, b, o, n) : x.axpyF64(a, b, op === x.SUB.value ? -alpha : alpha, o, n)),
  scalar: (x, op, a, v, o, n) => x.binaryScalarF64(op, a, v, o, n),
  rows: (x, op, a, b, o, r, c) => x.binaryRowsF64(op, a, b, o, r, c),
  cols: (x, op, a, b, o, r, c) => x.binaryColsF64(op, a, b, o, r, c),
  round: (v) => v,
};
/** float16 (bf16 0) or bfloat16 (1): computed in float32, so scalars round to float32. */
const binaryHalf = (bf16: number): BinaryKernels => ({
  dense: (x, op, a, b, alpha, o, n) => x.binaryHalf(op, a, b, alpha, o, n, bf16),
  scalar: (x, op, a, v, o, n) => x.binaryScalarHalf(op, a, v, o, n, bf16),
  rows: (x, op, a, b, o, r, c) => x.binaryRowsHalf(op, a, b, o, r, c, bf16),
  cols: (x, op, a, b, o, r, c) => x.binaryColsHalf(op, a, b, o, r, c, bf16),
  round: Math.fround,
});
const BINARY: Partial<Record<number, BinaryKernels>> = {
  [DTypeCode.float32]: BINARY_F32,
  [DTypeCode.float64]: BINARY_F64,
  [DTypeCode.float16]: binaryHalf(0),
  [DTypeCode.bfloat16]: binaryHalf(1),
};

const isHalf = (dtype: number) => dtype === DTypeCode.float16 || dtype === DTypeCode.bfloat16;
const bf16 = (dtype: number) => (dtype === DTypeCode.bfloat16 ? 1 : 0);

/**
 * How b (right-aligned against out's shape) broadcasts: [rows, cols, true] when it is dense
 * over out's trailing dimensions and repeated over the leading ones (a bias over a batch),
 * [rows, cols, false] when dense over the leading ones and repeated along the trailing ones.
 * b may come as its own shape or already expanded to out's (stride 0 on the repeated dims).
 */
function broadcastSplit(shape: readonly number[], b: TensorArg): [number, number, boolean] | undefined {
  const ndim = shape.length;
  const lead = ndim - b.ndim;
  const stride = (d: number) => (d < lead || b.shape[d - lead] === 1 ? 0 : b.strides[d - lead]!);
  const strides = shape.map((_, d) => stride(d));
  for (let q = 1; q < ndim; q++) {
    const outerZero = strides.slice(0, q).every((v, d) => v === 0 || shape[d] === 1);
    const innerZero = strides.slice(q).every((v, d) => v === 0 || shape[q + d] === 1);
    if (outerZero && isDenseOver(shape, strides, q, ndim)) return [product(shape, 0, q), product(shape, q, ndim), true];
    if (innerZero && isDenseOver(shape, strides, 0, q)) return [product(shape, 0, q), product(shape, q, ndim), false];
  }
  return undefined;
}

/** sum, mean or max (without indices) of the last `reduced` dimensions of a float32 input laid out densely. */
export function reduceSimd(op: number, out: TensorArg, indices: TensorArg | undefined, input: TensorArg, reduced: number): boolean {
  if (indices !== undefined) return extremeSimd(op, out, indices, input, reduced);
  const s = simdKernels();
  if (s === undefined || input.dtype !== out.dtype || (out.dtype !== F32 && out.dtype !== F64) || (op !== ReduceOp.sum && op !== ReduceOp.mean && op !== ReduceOp.max)) return false;
  const kept = input.ndim - reduced;
  const keptCount = product(input.shape, 0, kept);
  const count = product(input.shape, kept, input.ndim);
  if (keptCount === 0 || count === 0 || out.numel !== keptCount || !isDenseOver(input.shape.slice(0, kept), out.strides.slice(out.ndim - kept), 0, kept)) return false;
  const scale = op === ReduceOp.mean ? 1 / count : 1;
  const f64 = out.dtype === F64;
  const x = s.exports;
  if (isDenseOver(input.shape, input.strides, 0, input.ndim)) {
    // Kept dimensions outside, reduced ones inside: one dense row per output.
    if (op === ReduceOp.max) x[f64 ? 'maxRowsF64' : 'maxRowsF32'](s.input(input), s.output(out), keptCount, count);
    else x[f64 ? 'sumRowsF64' : 'sumRowsF32'](s.input(input), s.output(out), keptCount, count, scale);
  } else if (op !== ReduceOp.max && isDenseOver(input.shape, input.strides, 0, kept) && isDenseOver(input.shape, input.strides, kept, input.ndim, keptCount)) {
    // Reduced dimensions outside in memory (a sum over the batch): columns summed.
    x[f64 ? 'sumColsF64' : 'sumColsF32'](s.input(input), s.output(out), count, keptCount, scale);
  } else {
    return false;
  }
  s.finish();
  return true;
}

/** max or min with the index of its first occurrence, over the last dimension of a dense float32 input (torch.max(dim)). */
function extremeSimd(op: number, out: TensorArg, indices: TensorArg, input: TensorArg, reduced: number): boolean {
  const s = simdKernels();
  if (s === undefined || (op !== ReduceOp.max && op !== ReduceOp.min) || reduced !== 1 || input.dtype !== F32 || out.dtype !== F32 || indices.dtype !== DTypeCode.int64) return false;
  const cols = input.shape[input.ndim - 1]!;
  const rows = out.numel;
  if (cols === 0 || rows === 0 || !dense(input) || !isDenseOver(input.shape.slice(0, -1), out.strides, 0, input.ndim - 1) || !isDenseOver(input.shape.slice(0, -1), indices.strides, 0, input.ndim - 1)) return false;
  s.exports.extremeRowsF32(s.input(input), s.output(out), s.output(indices), rows, cols, op === ReduceOp.min ? 1 : 0);
  s.finish();
  return true;
}

/** Softmax or log-softmax along the last dimension of dense float32 operands. */
export function softmaxSimd(log: number, out: TensorArg, x: TensorArg, dim: number): boolean {
  const s = simdKernels();
  if (s === undefined || out.dtype !== F32 || x.dtype !== F32 || out.ndim === 0 || dim !== out.ndim - 1 || out.numel === 0 || !dense(out) || !dense(x)) return false;
  const cols = out.shape[dim]!;
  s.exports.softmaxRowsF32(s.input(x), s.output(out), out.numel / cols, cols, log);
  s.finish();
  return true;
}

/** Softmax's backward along the last dimension of dense float32 operands. */
export function softmaxBackwardSimd(out: TensorArg, grad: TensorArg, y: TensorArg, dim: number): boolean {
  const s = simdKernels();
  if (s === undefined || out.dtype !== F32 || grad.dtype !== F32 || y.dtype !== F32 || out.ndim === 0 || dim !== out.ndim - 1 || out.numel === 0 || !dense(out) || !dense(grad) || !dense(y)) return false;
  const cols = out.shape[dim]!;
  s.exports.softmaxBackwardRowsF32(s.input(grad), s.input(y), s.output(out), out.numel / cols, cols);
  s.finish();
  return true;
}

/**
 * Batched matmul into a dense out, any strides of a and b: float32 and float64 through the
 * packed panels (a transposed b, as in x·Wᵀ, is gathered into them; under 4 rows it takes the
 * dot-product kernel instead); float16 and bfloat16 through float32.
 */
export function matmulSimd(out: TensorArg, a: TensorArg, b: TensorArg): boolean {
  const s = simdKernels();
  if (s === undefined || out.numel === 0 || !dense(out)) return false;
  const [batch, n, m] = out.shape as [number, number, number];
  const k = a.shape[2]!;
  const [aB, aR, aC] = a.strides as [number, number, number];
  const [bB, bR, bC] = b.strides as [number, number, number];
  const half = out.dtype === DTypeCode.float16 || out.dtype === DTypeCode.bfloat16;
  if (half) {
    if (a.dtype !== out.dtype || b.dtype !== out.dtype || k === 0 || s.exports.matmulHalfWorkspace(k) > KERNEL_WORKSPACE_BYTES) return false;
    const [pa, pb, pc] = [s.input(a), s.input(b), s.output(out)];
    const bf16 = out.dtype === DTypeCode.bfloat16 ? 1 : 0;
    for (let i = 0; i < batch; i++) s.exports.matmulHalf(pa + 2 * i * aB, pb + 2 * i * bB, pc + 2 * i * n * m, n, k, m, aR, aC, bR, bC, s.workspace, bf16);
    s.finish();
    return true;
  }
  if (a.dtype !== out.dtype || b.dtype !== out.dtype || (out.dtype !== F32 && out.dtype !== F64)) return false;
  const f64 = out.dtype === F64;
  if (k === 0) return false;
  // The packed kernel takes any strides; for fewer than 4 rows (no register tile) a transposed
  // B is better served by dot products of dense runs.
  const dots = !f64 && n < 4 && bC !== 1 && (bR === 1 || k === 1) && (aC === 1 || k === 1);
  const pa = s.input(a);
  const pb = s.input(b);
  const pc = s.output(out);
  const size = f64 ? 8 : 4;
  for (let i = 0; i < batch; i++) {
    const ai = pa + size * i * aB;
    const bi = pb + size * i * bB;
    const ci = pc + size * i * n * m;
    if (dots) s.exports.matmulTransposedF32(ai, bi, ci, n, k, m, aR, bC);
    else s.exports[f64 ? 'matmulF64' : 'matmulF32'](ai, bi, ci, n, k, m, aR, aC, bR, bC, s.workspace);
  }
  s.finish();
  return true;
}

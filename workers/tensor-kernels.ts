/**
 * The tensor kernels: strided, broadcasting, dtype-converting loops over tensor operands.
 * The same functions run in the device workers (pointers into device memory) and in the
 * CPU pool (pointers into the task's buffers): one definition of every op's arithmetic.
 * Values are computed in doubles and rounded once into the output's dtype.
 */
import type { KernelContext } from '../src/protocol/kernel-context.js';
import { fromBFloat16Bits, fromFloat16Bits, toBFloat16Bits, toFloat16Bits } from '../src/protocol/half.js';
import { BinaryOp, DTypeCode, ReduceOp, SCALAR_OPERAND, UnaryOp } from '../src/protocol/tensor-abi.js';

/** One operand: element access by index relative to its first element. */
interface Operand {
  get(i: number): number;
  set(i: number, v: number): void;
  /** The raw array when its elements are plain numbers (float32, float64, int32, uint8). */
  readonly plain: Float32Array | Float64Array | Int32Array | Uint8Array | undefined;
}

let float16Table: Float32Array | undefined;
/** float16 decoding is a table lookup (65536 entries, built on first use). */
function float16Decoder(): Float32Array {
  if (float16Table === undefined) {
    float16Table = new Float32Array(65536);
    for (let b = 0; b < 65536; b++) float16Table[b] = fromFloat16Bits(b);
  }
  return float16Table;
}

function plain(arr: Float32Array | Float64Array | Int32Array | Uint8Array): Operand {
  return { get: (i) => arr[i]!, set: (i, v) => (arr[i] = v), plain: arr };
}

function operand(ctx: KernelContext, dtype: number, ptr: number, span: number): Operand {
  if (dtype === SCALAR_OPERAND) return { get: () => ptr, set: () => undefined, plain: undefined };
  const n = span;
  switch (dtype) {
    case DTypeCode.float32:
      return plain(ctx.f32(ptr, n));
    case DTypeCode.float64:
      return plain(ctx.f64(ptr, n));
    case DTypeCode.int32:
      return plain(ctx.i32(ptr, n));
    case DTypeCode.uint8:
      return plain(ctx.u8(ptr, n));
    case DTypeCode.bool: {
      const arr = ctx.u8(ptr, n);
      return { get: (i) => arr[i]!, set: (i, v) => (arr[i] = v !== 0 ? 1 : 0), plain: undefined };
    }
    case DTypeCode.int64: {
      const arr = ctx.bigInt64(ptr, n);
      const toBig = (v: number) => (Number.isFinite(v) ? BigInt.asIntN(64, BigInt(Math.trunc(v))) : 0n);
      return { get: (i) => Number(arr[i]!), set: (i, v) => (arr[i] = toBig(v)), plain: undefined };
    }
    case DTypeCode.float16: {
      const arr = ctx.u16(ptr, n);
      const table = float16Decoder();
      return { get: (i) => table[arr[i]!]!, set: (i, v) => (arr[i] = toFloat16Bits(v)), plain: undefined };
    }
    case DTypeCode.bfloat16: {
      const arr = ctx.u16(ptr, n);
      return { get: (i) => fromBFloat16Bits(arr[i]!), set: (i, v) => (arr[i] = toBFloat16Bits(v)), plain: undefined };
    }
    default:
      throw new RangeError(`unknown dtype code ${dtype}`);
  }
}

/**
 * Walks an index space row by row: `base[k]` is operand k's offset at the start of the row,
 * `length` elements with stride `inner[k]`. Dimension 0 is the outermost. Offsets are int32
 * (a view is far below 2^31 elements): V8 indexes typed arrays fastest with small integers.
 */
class Rows {
  readonly base: Int32Array;
  readonly inner: Int32Array;
  readonly length: number;
  /** False if the space has no element. */
  readonly nonEmpty: boolean;
  readonly #shape: readonly number[];
  readonly #strides: readonly (readonly number[])[];
  readonly #index: Int32Array;

  constructor(shape: readonly number[], strides: readonly (readonly number[])[]) {
    const d = shape.length;
    this.#shape = shape;
    this.#strides = strides;
    this.#index = new Int32Array(Math.max(d - 1, 0));
    this.base = new Int32Array(strides.length);
    this.inner = new Int32Array(strides.length);
    this.length = d === 0 ? 1 : shape[d - 1]!;
    for (let k = 0; k < strides.length; k++) this.inner[k] = d === 0 ? 0 : strides[k]![d - 1]!;
    this.nonEmpty = shape.every((n) => n > 0);
  }

  /** Back to the first row, with each operand starting at `origin[k]` (0 when omitted). */
  reset(origin?: ArrayLike<number>): void {
    this.#index.fill(0);
    for (let k = 0; k < this.base.length; k++) this.base[k] = origin === undefined ? 0 : origin[k]!;
  }

  /** Advances to the next row; false after the last. */
  next(): boolean {
    const shape = this.#shape;
    for (let dim = shape.length - 2; dim >= 0; dim--) {
      const i = ++this.#index[dim]!;
      if (i < shape[dim]!) {
        for (let k = 0; k < this.base.length; k++) this.base[k]! += this.#strides[k]![dim]!;
        return true;
      }
      this.#index[dim] = 0;
      for (let k = 0; k < this.base.length; k++) this.base[k]! -= (shape[dim]! - 1) * this.#strides[k]![dim]!;
    }
    return false;
  }
}

/** Splits `tail` into `count` arrays of `ndim` numbers each. */
function split(tail: readonly number[], ndim: number, count: number): number[][] {
  const out: number[][] = [];
  for (let k = 0; k < count; k++) out.push(tail.slice(k * ndim, (k + 1) * ndim));
  return out;
}

const UNARY: Record<number, (x: number) => number> = {
  [UnaryOp.identity]: (x) => x,
  [UnaryOp.neg]: (x) => -x,
  [UnaryOp.abs]: Math.abs,
  [UnaryOp.exp]: Math.exp,
  [UnaryOp.relu]: (x) => (x > 0 ? x : Number.isNaN(x) ? x : 0),
  [UnaryOp.log]: Math.log,
  [UnaryOp.sqrt]: Math.sqrt,
  [UnaryOp.tanh]: Math.tanh,
  [UnaryOp.sigmoid]: (x) => 1 / (1 + Math.exp(-x)),
  [UnaryOp.reluGrad]: (x) => (x > 0 ? 1 : 0),
};

const BINARY: Record<number, (x: number, y: number) => number> = {
  [BinaryOp.add]: (x, y) => x + y,
  [BinaryOp.sub]: (x, y) => x - y,
  [BinaryOp.mul]: (x, y) => x * y,
  [BinaryOp.div]: (x, y) => x / y,
  [BinaryOp.eq]: (x, y) => (x === y ? 1 : 0),
  [BinaryOp.ne]: (x, y) => (x !== y ? 1 : 0),
  [BinaryOp.lt]: (x, y) => (x < y ? 1 : 0),
  [BinaryOp.le]: (x, y) => (x <= y ? 1 : 0),
  [BinaryOp.gt]: (x, y) => (x > y ? 1 : 0),
  [BinaryOp.ge]: (x, y) => (x >= y ? 1 : 0),
  [BinaryOp.maximum]: (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : Math.max(x, y)),
  [BinaryOp.minimum]: (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : Math.min(x, y)),
  [BinaryOp.pow]: Math.pow,
  [BinaryOp.thresholdBackward]: (g, x) => (x > 0 ? g : 0),
};

/** out = op(in), elementwise, strided; `identity` is a copy with a dtype conversion. */
export function tensorUnary(ctx: KernelContext, op: number, oDt: number, oPtr: number, oSpan: number, iDt: number, iPtr: number, iSpan: number, ndim: number, ...dims: number[]): void {
  const fn = UNARY[op]!;
  const shape = dims.slice(0, ndim);
  const [os, is] = split(dims.slice(ndim), ndim, 2) as [number[], number[]];
  const rows = new Rows(shape, [os, is]);
  if (!rows.nonEmpty) return;
  const out = operand(ctx, oDt, oPtr, oSpan);
  const x = operand(ctx, iDt, iPtr, iSpan);
  rows.reset();
  const n = rows.length;
  const io = rows.inner[0]!;
  const ii = rows.inner[1]!;
  do {
    let po = rows.base[0]!;
    let pi = rows.base[1]!;
    for (let j = 0; j < n; j++, po += io, pi += ii) out.set(po, fn(x.get(pi)));
  } while (rows.next());
}

/** out = op(a, alpha·b) for add and sub (alpha is 1 otherwise), broadcast through strides (0 on expanded dims). */
export function tensorBinary(
  ctx: KernelContext,
  op: number,
  oDt: number,
  oPtr: number,
  oSpan: number,
  aDt: number,
  aPtr: number,
  aSpan: number,
  bDt: number,
  bPtr: number,
  bSpan: number,
  alpha: number,
  ndim: number,
  ...dims: number[]
): void {
  const shape = dims.slice(0, ndim);
  const [os, as, bs] = split(dims.slice(ndim), ndim, 3) as [number[], number[], number[]];
  const rows = new Rows(shape, [os, as, bs]);
  if (!rows.nonEmpty) return;
  const out = operand(ctx, oDt, oPtr, oSpan);
  const a = operand(ctx, aDt, aPtr, aSpan);
  const b = operand(ctx, bDt, bPtr, bSpan);
  const scaled = (op === BinaryOp.add || op === BinaryOp.sub) && alpha !== 1;
  const fn = BINARY[op]!;
  rows.reset();
  const n = rows.length;
  const [io, ia, ib] = rows.inner as unknown as [number, number, number];
  // The common case (same float type, unit strides, no alpha) runs on the raw arrays.
  if (fastPath(out, a, b, oDt, aDt, bDt, io, ia, ib, scaled)) {
    const o = out.plain!;
    const x = a.plain!;
    const y = b.plain!;
    do {
      const po = rows.base[0]!;
      const pa = rows.base[1]!;
      const pb = rows.base[2]!;
      if (op === BinaryOp.add) for (let j = 0; j < n; j++) o[po + j] = x[pa + j]! + y[pb + j]!;
      else if (op === BinaryOp.mul) for (let j = 0; j < n; j++) o[po + j] = x[pa + j]! * y[pb + j]!;
      else if (op === BinaryOp.sub) for (let j = 0; j < n; j++) o[po + j] = x[pa + j]! - y[pb + j]!;
      else for (let j = 0; j < n; j++) o[po + j] = fn(x[pa + j]!, y[pb + j]!);
    } while (rows.next());
    return;
  }
  const integral = oDt === DTypeCode.int32 && op === BinaryOp.mul;
  do {
    let po = rows.base[0]!;
    let pa = rows.base[1]!;
    let pb = rows.base[2]!;
    for (let j = 0; j < n; j++, po += io, pa += ia, pb += ib) {
      const y = scaled ? alpha * b.get(pb) : b.get(pb);
      // int32 products wrap as in C; a double would lose their low bits first.
      out.set(po, integral ? Math.imul(a.get(pa), y) : fn(a.get(pa), y));
    }
  } while (rows.next());
}

function fastPath(out: Operand, a: Operand, b: Operand, oDt: number, aDt: number, bDt: number, io: number, ia: number, ib: number, scaled: boolean): boolean {
  const float = oDt === DTypeCode.float32 || oDt === DTypeCode.float64;
  return float && aDt === oDt && bDt === oDt && io === 1 && ia === 1 && ib === 1 && !scaled && out.plain !== undefined && a.plain !== undefined && b.plain !== undefined;
}

/** Writes `value` into every element of a strided tensor. */
export function tensorFill(ctx: KernelContext, oDt: number, oPtr: number, oSpan: number, value: number, ndim: number, ...dims: number[]): void {
  const rows = new Rows(dims.slice(0, ndim), [dims.slice(ndim, 2 * ndim)]);
  if (!rows.nonEmpty) return;
  const out = operand(ctx, oDt, oPtr, oSpan);
  rows.reset();
  const n = rows.length;
  const io = rows.inner[0]!;
  do {
    let po = rows.base[0]!;
    for (let j = 0; j < n; j++, po += io) out.set(po, value);
  } while (rows.next());
}

/** out[i] = start + i·step for a contiguous output of n elements. */
export function tensorArange(ctx: KernelContext, oDt: number, oPtr: number, n: number, start: number, step: number): void {
  if (n === 0) return;
  const out = operand(ctx, oDt, oPtr, n);
  for (let i = 0; i < n; i++) out.set(i, start + i * step);
}

/**
 * Reduces the inner dimensions of the input for every index of the outer ones. The host
 * has permuted the input so that the kept dimensions come first. For max and min,
 * `xDt` ≥ 0 also writes the index of the first extreme (in the reduced space) to `x`.
 */
export function tensorReduce(
  ctx: KernelContext,
  op: number,
  oDt: number,
  oPtr: number,
  oSpan: number,
  iDt: number,
  iPtr: number,
  iSpan: number,
  xDt: number,
  xPtr: number,
  xSpan: number,
  outerNdim: number,
  innerNdim: number,
  ...dims: number[]
): void {
  let at = 0;
  const take = (n: number) => dims.slice(at, (at += n));
  const outerShape = take(outerNdim);
  const oStrides = take(outerNdim);
  const xStrides = take(outerNdim);
  const iOuter = take(outerNdim);
  const innerShape = take(innerNdim);
  const iInner = take(innerNdim);
  const outerRows = new Rows(outerShape, [oStrides, xStrides, iOuter]);
  const innerRows = new Rows(innerShape, [iInner]);
  if (!outerRows.nonEmpty) return;
  const out = operand(ctx, oDt, oPtr, oSpan);
  const input = operand(ctx, iDt, iPtr, iSpan);
  const index = xDt >= 0 ? operand(ctx, xDt, xPtr, xSpan) : undefined;
  const count = innerShape.reduce((p, n) => p * n, 1);
  const origin = new Int32Array(1);
  outerRows.reset();
  const n = outerRows.length;
  const [oo, ox, oi] = outerRows.inner as unknown as [number, number, number];
  do {
    for (let j = 0; j < n; j++) {
      origin[0] = outerRows.base[2]! + j * oi;
      let acc = op === ReduceOp.max ? -Infinity : op === ReduceOp.min ? Infinity : 0;
      let best = 0;
      let seen = 0;
      if (innerRows.nonEmpty) {
        innerRows.reset(origin);
        const m = innerRows.length;
        const step = innerRows.inner[0]!;
        do {
          let p = innerRows.base[0]!;
          for (let q = 0; q < m; q++, p += step, seen++) {
            const v = input.get(p);
            if (op === ReduceOp.sum || op === ReduceOp.mean) acc += v;
            else if (Number.isNaN(acc)) continue;
            else if (Number.isNaN(v) || (op === ReduceOp.max ? v > acc : v < acc)) {
              acc = v;
              best = seen;
            }
          }
        } while (innerRows.next());
      }
      if (op === ReduceOp.mean) acc /= count;
      out.set(outerRows.base[0]! + j * oo, acc);
      index?.set(outerRows.base[1]! + j * ox, best);
    }
  } while (outerRows.next());
}

/**
 * Batched matrix product: out[b] (n×m) = a[b] (n×k) · b[b] (k×m), every operand strided
 * (batch, row, column strides). Accumulates a row at a time in doubles.
 */
export function tensorMatmul(
  ctx: KernelContext,
  oDt: number,
  oPtr: number,
  oSpan: number,
  aDt: number,
  aPtr: number,
  aSpan: number,
  bDt: number,
  bPtr: number,
  bSpan: number,
  batch: number,
  n: number,
  k: number,
  m: number,
  oB: number,
  oR: number,
  oC: number,
  aB: number,
  aR: number,
  aC: number,
  bB: number,
  bR: number,
  bC: number,
): void {
  if (batch === 0 || n === 0 || m === 0) return;
  // Small integers for the index arithmetic below (arguments arrive as doubles).
  [n, k, m, oB, oR, oC, aB, aR, aC, bB, bR, bC] = [n | 0, k | 0, m | 0, oB | 0, oR | 0, oC | 0, aB | 0, aR | 0, aC | 0, bB | 0, bR | 0, bC | 0];
  const out = operand(ctx, oDt, oPtr, oSpan);
  const a = k === 0 ? undefined : operand(ctx, aDt, aPtr, aSpan);
  const b = k === 0 ? undefined : operand(ctx, bDt, bPtr, bSpan);
  const x = a?.plain;
  const y = b?.plain;
  if (out.plain !== undefined && x !== undefined && y !== undefined) {
    matmulPlain(out.plain, x, y, batch, n, k, m, oB, oR, oC, aB, aR, aC, bB, bR, bC);
    return;
  }
  const acc = new Float64Array(m);
  for (let s = 0; s < batch; s++) {
    for (let i = 0; i < n; i++) {
      acc.fill(0);
      for (let p = 0; p < k; p++) {
        const av = a!.get(s * aB + i * aR + p * aC);
        const bp = s * bB + p * bR;
        for (let j = 0; j < m; j++) acc[j]! += av * b!.get(bp + j * bC);
      }
      const op = s * oB + i * oR;
      for (let j = 0; j < m; j++) out.set(op + j * oC, acc[j]!);
    }
  }
}

type PlainArray = Float32Array | Float64Array | Int32Array | Uint8Array;

/**
 * The raw-array path of tensorMatmul: b is transposed into doubles once per batch, then four
 * outputs at a time are accumulated in registers (each still sums over p in order, so the
 * results equal the general path's to the bit).
 */
function matmulPlain(o: PlainArray, x: PlainArray, y: PlainArray, batch: number, n: number, k: number, m: number, oB: number, oR: number, oC: number, aB: number, aR: number, aC: number, bB: number, bR: number, bC: number): void {
  const bt = new Float64Array(k * m);
  for (let s = 0; s < batch; s++) {
    for (let p = 0; p < k; p++) for (let j = 0; j < m; j++) bt[j * k + p] = y[s * bB + p * bR + j * bC]!;
    for (let i = 0; i < n; i++) {
      const ai = s * aB + i * aR;
      const oi = s * oB + i * oR;
      let j = 0;
      for (; j + 4 <= m; j += 4) {
        let a0 = 0;
        let a1 = 0;
        let a2 = 0;
        let a3 = 0;
        const b0 = j * k;
        for (let p = 0; p < k; p++) {
          const v = x[ai + p * aC]!;
          a0 += v * bt[b0 + p]!;
          a1 += v * bt[b0 + k + p]!;
          a2 += v * bt[b0 + 2 * k + p]!;
          a3 += v * bt[b0 + 3 * k + p]!;
        }
        o[oi + j * oC] = a0;
        o[oi + (j + 1) * oC] = a1;
        o[oi + (j + 2) * oC] = a2;
        o[oi + (j + 3) * oC] = a3;
      }
      for (; j < m; j++) {
        let acc = 0;
        for (let p = 0; p < k; p++) acc += x[ai + p * aC]! * bt[j * k + p]!;
        o[oi + j * oC] = acc;
      }
    }
  }
}

/**
 * Softmax (or log-softmax when `log` is 1) along one dimension: for each index of the other
 * dimensions (`outerShape`, strided), over `size` elements `dimStride` apart.
 */
export function tensorSoftmax(
  ctx: KernelContext,
  log: number,
  oDt: number,
  oPtr: number,
  oSpan: number,
  iDt: number,
  iPtr: number,
  iSpan: number,
  size: number,
  oDim: number,
  iDim: number,
  outerNdim: number,
  ...dims: number[]
): void {
  const [shape, os, is] = split(dims, outerNdim, 3) as [number[], number[], number[]];
  const rows = new Rows(shape, [os, is]);
  if (!rows.nonEmpty || size === 0) return;
  const out = operand(ctx, oDt, oPtr, oSpan);
  const x = operand(ctx, iDt, iPtr, iSpan);
  rows.reset();
  const n = rows.length;
  do {
    for (let j = 0; j < n; j++) {
      const po = rows.base[0]! + j * rows.inner[0]!;
      const pi = rows.base[1]! + j * rows.inner[1]!;
      let max = -Infinity;
      for (let q = 0; q < size; q++) max = Math.max(max, x.get(pi + q * iDim));
      let sum = 0;
      for (let q = 0; q < size; q++) sum += Math.exp(x.get(pi + q * iDim) - max);
      const logSum = Math.log(sum);
      for (let q = 0; q < size; q++) {
        const shifted = x.get(pi + q * iDim) - max;
        out.set(po + q * oDim, log === 1 ? shifted - logSum : Math.exp(shifted) / sum);
      }
    }
  } while (rows.next());
}

/** Softmax's backward along one dimension: out = y·(g − Σ g·y), from the output y and its gradient g. */
export function tensorSoftmaxBackward(
  ctx: KernelContext,
  oDt: number,
  oPtr: number,
  oSpan: number,
  gDt: number,
  gPtr: number,
  gSpan: number,
  yDt: number,
  yPtr: number,
  ySpan: number,
  size: number,
  oDim: number,
  gDim: number,
  yDim: number,
  outerNdim: number,
  ...dims: number[]
): void {
  const [shape, os, gs, ys] = split(dims, outerNdim, 4) as [number[], number[], number[], number[]];
  const rows = new Rows(shape, [os, gs, ys]);
  if (!rows.nonEmpty || size === 0) return;
  const out = operand(ctx, oDt, oPtr, oSpan);
  const g = operand(ctx, gDt, gPtr, gSpan);
  const y = operand(ctx, yDt, yPtr, ySpan);
  rows.reset();
  const n = rows.length;
  do {
    for (let j = 0; j < n; j++) {
      const po = rows.base[0]! + j * rows.inner[0]!;
      const pg = rows.base[1]! + j * rows.inner[1]!;
      const py = rows.base[2]! + j * rows.inner[2]!;
      let dot = 0;
      for (let q = 0; q < size; q++) dot += g.get(pg + q * gDim) * y.get(py + q * yDim);
      for (let q = 0; q < size; q++) out.set(po + q * oDim, y.get(py + q * yDim) * (g.get(pg + q * gDim) - dot));
    }
  } while (rows.next());
}

/**
 * The elementwise and reduction tensor kernels: strided, broadcasting, dtype-converting
 * loops. The same functions run in the device workers (pointers into device memory) and in
 * the CPU pool (pointers into the task's buffers): one definition of every op's arithmetic.
 * Values are computed in doubles and rounded once into the output's dtype.
 */
import type { KernelContext } from '../src/protocol/kernel-context.js';
import { BinaryOp, DTypeCode, ReduceOp, UnaryOp } from '../src/protocol/tensor-abi.js';
import { type Operand, Rows, operand, split } from './tensor-operands.js';

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

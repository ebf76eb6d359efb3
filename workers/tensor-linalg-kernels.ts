/**
 * The linear-algebra tensor kernels: batched matrix products and softmax, strided, in the
 * device workers and the CPU pool alike.
 */
import type { KernelContext } from '../src/protocol/kernel-context.js';
import { type PlainArray, Rows, operand, split } from './tensor-operands.js';

/**
 * Batched matrix product: out[b] (n×m) = a[b] (n×k) · b[b] (k×m), every operand strided
 * (batch, row, column strides), accumulated in doubles in index order.
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

/**
 * The linear-algebra tensor kernels: batched matrix products and softmax, strided, in the
 * device workers and the CPU pool alike.
 */
import { typedKernel } from '../src/protocol/kernel-abi.js';
import { TensorKernel } from '../src/protocol/tensor-kernel-signatures.js';
import { type PlainArray, Rows, operand } from './tensor-operands.js';
import { matmulSimd, softmaxBackwardSimd, softmaxSimd } from './simd-paths.js';

/**
 * Batched matrix product: out[b] (n×m) = a[b] (n×k) · b[b] (k×m), every operand a strided
 * 3-D view, accumulated in doubles in index order.
 */
export const tensorMatmul = typedKernel(TensorKernel.matmul, (_ctx, { out, a, b }) => {
  if (matmulSimd(out, a, b)) return;
  const [batch, n, m] = out.shape as [number, number, number];
  const k = a.shape[2]!;
  if (batch === 0 || n === 0 || m === 0) return;
  const [oB, oR, oC] = out.strides as [number, number, number];
  const [aB, aR, aC] = a.strides as [number, number, number];
  const [bB, bR, bC] = b.strides as [number, number, number];
  const o = operand(out);
  const x = operand(a);
  const y = operand(b);
  const acc = new Float64Array(m);
  for (let s = 0; s < batch; s++) {
    for (let i = 0; i < n; i++) {
      acc.fill(0);
      for (let p = 0; p < k; p++) {
        const av = x.get(s * aB + i * aR + p * aC);
        const bp = s * bB + p * bR;
        for (let j = 0; j < m; j++) acc[j]! += av * y.get(bp + j * bC);
      }
      const op = s * oB + i * oR;
      for (let j = 0; j < m; j++) o.set(op + j * oC, acc[j]!);
    }
  }
});

/** tensorMatmul when every operand's elements are plain numbers (the host chose it): same sums, in registers. */
export const tensorMatmulPlain = typedKernel(TensorKernel.matmulPlain, (_ctx, { out, a, b }) => {
  if (matmulSimd(out, a, b)) return;
  const [batch, n, m] = out.shape as [number, number, number];
  const k = a.shape[2]!;
  if (batch === 0 || n === 0 || m === 0) return;
  const o = operand(out).plain!;
  if (k === 0) {
    // Sums of nothing; a and b have no elements to read.
    const [oB, oR, oC] = out.strides as [number, number, number];
    for (let s = 0; s < batch; s++) for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) o[s * oB + i * oR + j * oC] = 0;
    return;
  }
  const [oB, oR, oC] = out.strides as [number, number, number];
  const [aB, aR, aC] = a.strides as [number, number, number];
  const [bB, bR, bC] = b.strides as [number, number, number];
  matmulPlain(o, operand(a).plain!, operand(b).plain!, batch, n | 0, k | 0, m | 0, oB | 0, oR | 0, oC | 0, aB | 0, aR | 0, aC | 0, bB | 0, bR | 0, bC | 0);
});

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

/** Every dimension's entry but `d`'s. */
function without(values: readonly number[], d: number): number[] {
  return values.filter((_, i) => i !== d);
}

/**
 * Softmax (or log-softmax when `log` is 1) along `dim`: for each index of the other
 * dimensions, over the elements along it. A 0-d tensor is one row of one element.
 */
export const tensorSoftmax = typedKernel(TensorKernel.softmax, (_ctx, { log, out, x, dim }) => {
  if (softmaxSimd(log, out, x, dim)) return;
  const size = out.ndim === 0 ? 1 : out.shape[dim]!;
  const oDim = out.strides[dim] ?? 0;
  const iDim = x.strides[dim] ?? 0;
  const rows = new Rows(without(out.shape, dim), [without(out.strides, dim), without(x.strides, dim)]);
  if (!rows.nonEmpty || size === 0) return;
  const o = operand(out);
  const i = operand(x);
  rows.reset();
  const n = rows.length;
  do {
    for (let j = 0; j < n; j++) {
      const po = rows.base[0]! + j * rows.inner[0]!;
      const pi = rows.base[1]! + j * rows.inner[1]!;
      let max = -Infinity;
      for (let q = 0; q < size; q++) max = Math.max(max, i.get(pi + q * iDim));
      let sum = 0;
      for (let q = 0; q < size; q++) sum += Math.exp(i.get(pi + q * iDim) - max);
      const logSum = Math.log(sum);
      for (let q = 0; q < size; q++) {
        const shifted = i.get(pi + q * iDim) - max;
        o.set(po + q * oDim, log === 1 ? shifted - logSum : Math.exp(shifted) / sum);
      }
    }
  } while (rows.next());
});

/** Softmax's backward along `dim`: out = y·(g − Σ g·y), from the output y and its gradient g. */
export const tensorSoftmaxBackward = typedKernel(TensorKernel.softmaxBackward, (_ctx, { out, grad, y, dim }) => {
  if (softmaxBackwardSimd(out, grad, y, dim)) return;
  const size = out.ndim === 0 ? 1 : out.shape[dim]!;
  const oDim = out.strides[dim] ?? 0;
  const gDim = grad.strides[dim] ?? 0;
  const yDim = y.strides[dim] ?? 0;
  const rows = new Rows(without(out.shape, dim), [without(out.strides, dim), without(grad.strides, dim), without(y.strides, dim)]);
  if (!rows.nonEmpty || size === 0) return;
  const o = operand(out);
  const g = operand(grad);
  const v = operand(y);
  rows.reset();
  const n = rows.length;
  do {
    for (let j = 0; j < n; j++) {
      const po = rows.base[0]! + j * rows.inner[0]!;
      const pg = rows.base[1]! + j * rows.inner[1]!;
      const py = rows.base[2]! + j * rows.inner[2]!;
      let dot = 0;
      for (let q = 0; q < size; q++) dot += g.get(pg + q * gDim) * v.get(py + q * yDim);
      for (let q = 0; q < size; q++) o.set(po + q * oDim, v.get(py + q * yDim) * (g.get(pg + q * gDim) - dot));
    }
  } while (rows.next());
});

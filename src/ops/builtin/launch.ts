import { BinaryOp, DTypeCode, SCALAR_OPERAND, TensorKernel, UnaryOp } from '../../protocol/tensor-abi.js';
import { checkRank, expandStrides } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { type Executor, operand, span } from '../executor.js';
import { invalidValue } from '../../errors/errors.js';

/** The kernels' shared argument shapes: one launch per op, strides broadcast to the output's shape. */

/**
 * Refuses an input that shares some but not all of its memory with the output (`a.copy_(a.t())`
 * reads elements after overwriting them). As PyTorch does, only views that are both dense are
 * judged: interleaved views (`x.select(1, 0).copy_(x.select(1, 1))`) are left alone.
 * The same view in and out (`a.add_(1)`) is fine.
 */
export function checkNoPartialOverlap(call: string, out: Tensor, input: Tensor): void {
  if (input.storage(call) !== out.storage(call) || sameView(out, input)) return;
  const outSpan = span(out);
  const inSpan = span(input);
  if (outSpan !== out.numel() || inSpan !== input.numel()) return;
  if (out.storageOffset < input.storageOffset + inSpan && input.storageOffset < out.storageOffset + outSpan) {
    throw invalidValue(call, 'unsupported operation: some elements of the input tensor and the written-to tensor refer to a single memory location; clone() the tensor before performing the operation');
  }
}

function sameView(a: Tensor, b: Tensor): boolean {
  if (a.storageOffset !== b.storageOffset || a.ndim !== b.ndim) return false;
  for (let i = 0; i < a.ndim; i++) if (a.shape[i] !== b.shape[i] || a.strides[i] !== b.strides[i]) return false;
  return true;
}

/** out = op(x), x broadcast to out's shape (identity: a converting copy). */
export function launchUnary(call: string, ex: Executor, op: UnaryOp, out: Tensor, x: Tensor): void {
  checkRank(call, out.ndim);
  checkNoPartialOverlap(call, out, x);
  const xs = expandStrides(call, x.shape, x.strides, out.shape);
  ex.launch(TensorKernel.unary, [x], [out], (ptr) => [op, ...operand(out, ptr), ...operand(x, ptr), out.ndim, ...out.shape, ...out.strides, ...xs]);
}

/** out = op(a, alpha·b) with a and b (a tensor or a scalar) broadcast to out's shape. */
export function launchBinary(call: string, ex: Executor, op: BinaryOp, out: Tensor, a: Tensor, b: Tensor | number, alpha = 1): void {
  checkRank(call, out.ndim);
  checkNoPartialOverlap(call, out, a);
  if (typeof b !== 'number') checkNoPartialOverlap(call, out, b);
  const as = expandStrides(call, a.shape, a.strides, out.shape);
  const reads = typeof b === 'number' ? [a] : [a, b];
  const bs = typeof b === 'number' ? out.shape.map(() => 0) : expandStrides(call, b.shape, b.strides, out.shape);
  ex.launch(TensorKernel.binary, reads, [out], (ptr) => [
    op,
    ...operand(out, ptr),
    ...operand(a, ptr),
    ...(typeof b === 'number' ? [SCALAR_OPERAND, b, 0] : operand(b, ptr)),
    alpha,
    out.ndim,
    ...out.shape,
    ...out.strides,
    ...as,
    ...bs,
  ]);
}

export function launchFill(call: string, ex: Executor, out: Tensor, value: number): void {
  checkRank(call, out.ndim);
  ex.launch(TensorKernel.fill, [], [out], (ptr) => [...operand(out, ptr).slice(0, 3), value, out.ndim, ...out.shape, ...out.strides]);
}

export function launchArange(ex: Executor, out: Tensor, start: number, step: number): void {
  ex.launch(TensorKernel.arange, [], [out], (ptr) => [DTypeCode[out.dtype], ptr(out), out.numel(), start, step]);
}

export { BinaryOp, UnaryOp };

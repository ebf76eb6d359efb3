import { BinaryOp, UnaryOp } from '../../protocol/tensor-abi.js';
import { TensorKernel } from '../../protocol/tensor-kernel-signatures.js';
import { expandStrides, isContiguous } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { type Executor, type KernelOperand, span, viewOf } from '../executor.js';
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

/** True when `t` is laid out densely in row-major order (its elements are one flat array). */
const dense = (t: Tensor): boolean => isContiguous(t.shape, t.strides);

function isFloatKernelType(dtype: string): boolean {
  return dtype === 'float32' || dtype === 'float64';
}

/** The flat-array kernels take operands of out's float dtype, dense and of out's shape: chosen here, on the host. */
function denseLike(out: Tensor, x: Tensor | number): boolean {
  if (typeof x === 'number') return true;
  if (x.dtype !== out.dtype || x.ndim !== out.ndim || !dense(x)) return false;
  for (let d = 0; d < x.ndim; d++) if (x.shape[d] !== out.shape[d]) return false;
  return true;
}

/** `x`'s elements in out's shape: broadcast dimensions get stride 0. */
function broadcastTo(call: string, x: Tensor, out: Tensor): KernelOperand {
  return viewOf(x, out.shape, expandStrides(call, x.shape, x.strides, out.shape));
}

/** out = op(x), x broadcast to out's shape (identity: a converting copy). */
export function launchUnary(call: string, ex: Executor, op: UnaryOp, out: Tensor, x: Tensor): void {
  checkNoPartialOverlap(call, out, x);
  if (isFloatKernelType(out.dtype) && dense(out) && denseLike(out, x)) ex.launch(TensorKernel.unaryContiguous, { op, out, x });
  else ex.launch(TensorKernel.unary, { op, out, x: broadcastTo(call, x, out) });
}

/** out = op(a, alpha·b) with a and b (a tensor or a scalar) broadcast to out's shape. */
export function launchBinary(call: string, ex: Executor, op: BinaryOp, out: Tensor, a: Tensor, b: Tensor | number, alpha = 1): void {
  checkNoPartialOverlap(call, out, a);
  if (typeof b !== 'number') checkNoPartialOverlap(call, out, b);
  if (isFloatKernelType(out.dtype) && dense(out) && denseLike(out, a) && denseLike(out, b)) {
    ex.launch(TensorKernel.binaryContiguous, { op, out, a, b, alpha });
    return;
  }
  ex.launch(TensorKernel.binary, { op, out, a: broadcastTo(call, a, out), b: typeof b === 'number' ? b : broadcastTo(call, b, out), alpha });
}

export function launchFill(ex: Executor, out: Tensor, value: number): void {
  ex.launch(TensorKernel.fill, { out, value });
}

export function launchArange(ex: Executor, out: Tensor, start: number, step: number): void {
  ex.launch(TensorKernel.arange, { out, start, step });
}

export { BinaryOp, UnaryOp };

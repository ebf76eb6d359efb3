import { BinaryOp, DTypeCode, SCALAR_OPERAND, TensorKernel, UnaryOp } from '../../protocol/tensor-abi.js';
import { checkRank, expandStrides } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { type Executor, operand } from '../executor.js';

/** The kernels' shared argument shapes: one launch per op, strides broadcast to the output's shape. */

/** out = op(x), x broadcast to out's shape (identity: a converting copy). */
export function launchUnary(call: string, ex: Executor, op: UnaryOp, out: Tensor, x: Tensor): void {
  checkRank(call, out.ndim);
  const xs = expandStrides(call, x.shape, x.strides, out.shape);
  ex.launch(TensorKernel.unary, [x], [out], (ptr) => [op, ...operand(out, ptr), ...operand(x, ptr), out.ndim, ...out.shape, ...out.strides, ...xs]);
}

/** out = op(a, alpha·b) with a and b (a tensor or a scalar) broadcast to out's shape. */
export function launchBinary(call: string, ex: Executor, op: BinaryOp, out: Tensor, a: Tensor, b: Tensor | number, alpha = 1): void {
  checkRank(call, out.ndim);
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

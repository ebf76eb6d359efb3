import { invalidValue } from '../../errors/errors.js';
import { castScalar } from '../../tensor/dtype.js';
import { checkDim } from '../../tensor/shape.js';
import { Tensor, op as callOp } from '../../tensor/tensor.js';
import { TensorKernel } from '../../protocol/tensor-kernel-signatures.js';
import { type Executor, type KernelOperand, viewOf } from '../executor.js';
import { type OpArgs, type OpMethod, defineOp } from '../define-op.js';
import { UnaryOp, checkNoPartialOverlap, launchUnary } from './launch.js';

/**
 * Moving elements by an index tensor along one dimension: gather, scatter, scatter_add and
 * index_select. An index out of range is the kernel's error, as CUDA's device-side assert is:
 * the device's sticky error on an openreg device, a rejected read on cpu.
 */

/** A 0-dim tensor is indexed as one element of a 1-D one, as PyTorch does. */
const operand = (t: Tensor): KernelOperand => (t.ndim === 0 ? viewOf(t, [1], [1]) : t);

function checkIndex(call: string, index: Tensor, allowInt32 = false): void {
  if (index.dtype !== 'int64' && !(allowInt32 && index.dtype === 'int32')) throw invalidValue(call, `expected index to be int64${allowInt32 ? ' or int32' : ''}, got ${index.dtype}`);
}

/** index fits into `self` (and `src`) in every dimension but `dim`, with self's number of dimensions (PyTorch's gather_shape_check). */
function checkIndexShape(call: string, self: Tensor, dim: number, index: Tensor, src?: Tensor): void {
  const rank = Math.max(self.ndim, 1);
  if (Math.max(index.ndim, 1) !== rank) throw invalidValue(call, `index must have as many dimensions as self (${self.ndim}), got ${index.ndim}`);
  for (let d = 0; d < index.ndim; d++) {
    if (d !== dim && index.shape[d]! > self.shape[d]!) throw invalidValue(call, `size of index [${index.shape.join(', ')}] exceeds self [${self.shape.join(', ')}] in dimension ${d}`);
    if (src !== undefined && src.ndim > 0 && index.shape[d]! > src.shape[d]!) throw invalidValue(call, `size of index [${index.shape.join(', ')}] exceeds src [${src.shape.join(', ')}] in dimension ${d}`);
  }
}

/** A zero-filled tensor of self's shape and g's dtype with g added at index: the backward of gather and index_select. */
const scatteredGradient = (g: Tensor, self: Tensor, dim: number, index: Tensor): Tensor => {
  const zeros = callOp('backward', 'full', [self.shape, 0, g.dtype, g.device], g.device) as Tensor;
  return callOp('backward', 'scatter_add', [zeros, dim, index, g]) as Tensor;
};

interface GatherArgs extends OpArgs {
  readonly self: Tensor;
  readonly dim: number;
  readonly index: Tensor;
}

export const GATHER = defineOp({
  schemas: ['gather(Tensor self, int dim, Tensor index) -> Tensor'],
  out: true,
  result: (call, { self, dim, index }: GatherArgs) => {
    const d = checkDim(call, dim, self.ndim);
    checkIndex(call, index);
    checkIndexShape(call, self, d, index);
    return { shape: index.shape, dtype: self.dtype, dim: d };
  },
  kernel: (call, ex, out, { self, index }: GatherArgs, { dim }) => {
    checkNoPartialOverlap(call, out, self);
    ex.launch(TensorKernel.gather, { out: operand(out), input: operand(self), index: operand(index), dim });
  },
  derivatives: { self: (g, { self, dim, index }: GatherArgs) => scatteredGradient(g, self, checkDim('gather backward', dim, self.ndim), index) },
  saves: ['index'],
  doc: 'self[…index[i]…] along dim: the result has index\'s shape (int64 indices)',
});

interface ScatterArgs extends OpArgs {
  readonly self: Tensor;
  readonly dim: number;
  readonly index: Tensor;
  readonly src?: Tensor;
  readonly value?: number | boolean;
}

/** self's values with src's (or value) written (`accumulate`: added) at index along dim. */
function scatterInto(call: string, ex: Executor, out: Tensor, { self, index, src, value }: ScatterArgs, dim: number, accumulate: boolean): void {
  if (out !== self) launchUnary(call, ex, UnaryOp.identity, out, self);
  if (src !== undefined) checkNoPartialOverlap(call, out, src);
  const from = src !== undefined ? operand(src) : castScalar(self.dtype, Number(value));
  ex.launch(TensorKernel.scatter, { out: operand(out), index: operand(index), src: from, dim, accumulate: accumulate ? 1 : 0 });
}

function planScatter(call: string, { self, dim, index, src }: ScatterArgs) {
  const d = checkDim(call, dim, self.ndim);
  checkIndex(call, index);
  if (src !== undefined && src.dtype !== self.dtype) throw invalidValue(call, `expected self.dtype to be equal to src.dtype, got ${self.dtype} and ${src.dtype}`);
  checkIndexShape(call, self, d, index, src);
  return { shape: self.shape, dtype: self.dtype, dim: d };
}

export const SCATTER = defineOp({
  schemas: ['scatter.src(Tensor self, int dim, Tensor index, Tensor src) -> Tensor', 'scatter.value(Tensor self, int dim, Tensor index, Scalar value) -> Tensor'],
  inplace: true,
  out: true,
  result: planScatter,
  kernel: (call, ex, out, args: ScatterArgs, { dim }) => scatterInto(call, ex, out, args, dim, false),
  derivatives: {
    self: (g, { self, dim, index }: ScatterArgs) => callOp('scatter backward', 'scatter.value', [g, checkDim('scatter backward', dim, self.ndim), index, 0]) as Tensor,
    src: (g, { self, dim, index }: ScatterArgs) => callOp('scatter backward', 'gather', [g, checkDim('scatter backward', dim, self.ndim), index]) as Tensor,
  },
  saves: ['index'],
  doc: 'self with src (or value) written at index along dim; a repeated index keeps the last write',
});

export const SCATTER_ADD = defineOp({
  schemas: ['scatter_add(Tensor self, int dim, Tensor index, Tensor src) -> Tensor'],
  method: 'scatterAdd',
  inplace: true,
  out: true,
  result: planScatter,
  kernel: (call, ex, out, args: ScatterArgs, { dim }) => scatterInto(call, ex, out, args, dim, true),
  derivatives: {
    self: (g) => g,
    src: (g, { self, dim, index }: ScatterArgs) => callOp('scatter_add backward', 'gather', [g, checkDim('scatter_add backward', dim, self.ndim), index]) as Tensor,
  },
  saves: ['index'],
  doc: 'self with src added at index along dim (repeated indices accumulate)',
});

interface IndexSelectArgs extends OpArgs {
  readonly self: Tensor;
  readonly dim: number;
  readonly index: Tensor;
}

/** The 1-D index spread over out's shape (stride 0 off dim): index_select is a gather with it. */
function spreadIndex(index: Tensor, shape: readonly number[], dim: number): KernelOperand {
  const strides = shape.map((_, d) => (d === dim && index.ndim === 1 ? index.strides[0]! : 0));
  return viewOf(index, shape.length === 0 ? [1] : shape, shape.length === 0 ? [0] : strides);
}

export const INDEX_SELECT = defineOp({
  schemas: ['index_select(Tensor self, int dim, Tensor index) -> Tensor'],
  method: 'indexSelect',
  out: true,
  result: (call, { self, dim, index }: IndexSelectArgs) => {
    const d = checkDim(call, dim, self.ndim);
    checkIndex(call, index, true);
    if (index.ndim > 1) throw invalidValue(call, `index must be 0- or 1-dimensional, got ${index.ndim} dimensions`);
    const shape = self.ndim === 0 ? [] : self.shape.map((n, i) => (i === d ? index.numel() : n));
    return { shape, dtype: self.dtype, dim: d };
  },
  kernel: (call, ex, out, { self, index }: IndexSelectArgs, { dim }) => {
    checkNoPartialOverlap(call, out, self);
    ex.launch(TensorKernel.gather, { out: operand(out), input: operand(self), index: spreadIndex(index, out.shape, dim), dim });
  },
  derivatives: {
    self: (g, { self, dim, index }: IndexSelectArgs) => {
      const d = checkDim('index_select backward', dim, self.ndim);
      if (self.ndim === 0) return scatteredGradient(g, self, 0, index.reshape().to('int64'));
      // index_select's backward is index_add: a scatter_add with the index spread over g's shape.
      const spread = index.to('int64').reshape(...g.shape.map((n, i) => (i === d ? n : 1))).expand(...g.shape);
      return scatteredGradient(g, self, d, spread);
    },
  },
  saves: ['index'],
  doc: 'the slices of self at index (1-D, int64 or int32) along dim',
});

declare module '../../tensor/tensor.js' {
  interface Tensor {
    gather: OpMethod<[dim: number, index: Tensor]>;
    scatter: OpMethod<[dim: number, index: Tensor, src: Tensor | number | boolean]>;
    scatter_: OpMethod<[dim: number, index: Tensor, src: Tensor | number | boolean]>;
    scatterAdd: OpMethod<[dim: number, index: Tensor, src: Tensor]>;
    scatterAdd_: OpMethod<[dim: number, index: Tensor, src: Tensor]>;
    indexSelect: OpMethod<[dim: number, index: Tensor]>;
  }
}

import { invalidValue } from '../../errors/errors.js';
import { DTYPES, type DType } from '../../tensor/dtype.js';
import { checkDim } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { TensorKernel } from '../../protocol/tensor-kernel-signatures.js';
import { type Executor, type KernelOperand, viewOf } from '../executor.js';
import { type OpArgs, type OpMethod, defineOp } from '../define-op.js';
import { defineBuiltin } from '../register.js';

/** Sorting and scans along one dimension: the kernels take it last, so the host permutes views. */

/** `t` seen with dimension `dim` moved last (a view: no copy). */
function withDimLast(t: Tensor, dim: number): KernelOperand {
  if (t.ndim === 0) return viewOf(t, [1], [1]);
  const order = [...t.shape.keys()].filter((d) => d !== dim).concat(dim);
  return viewOf(t, order.map((d) => t.shape[d]!), order.map((d) => t.strides[d]!));
}

function sortInto(ex: Executor, self: Tensor, dim: number, descending: boolean, values: Tensor, indices: Tensor): void {
  if (self.numel() === 0) return;
  ex.launch(TensorKernel.sort, { values: withDimLast(values, dim), indices: withDimLast(indices, dim), input: withDimLast(self, dim), descending: descending ? 1 : 0 });
}

function sortable(call: string, self: Tensor, dim: unknown): number {
  if (self.dtype === 'bool' && call === 'topk') throw invalidValue(call, 'topk is not implemented for bool tensors');
  return checkDim(call, dim, self.ndim);
}

defineBuiltin('sort(Tensor self, int dim=-1, bool descending=False) -> (Tensor values, Tensor indices)', (ex, self: Tensor, dim: unknown, descending: boolean) => {
  const d = sortable('sort', self, dim);
  const values = ex.empty(self.dtype, self.shape);
  const indices = ex.empty('int64', self.shape);
  sortInto(ex, self, d, descending, values, indices);
  return [values, indices];
});

defineBuiltin('topk(Tensor self, int k, int dim=-1, bool largest=True, bool sorted=True) -> (Tensor values, Tensor indices)', (ex, self: Tensor, k: number, dim: unknown, largest: boolean) => {
  const d = sortable('topk', self, dim);
  const size = self.ndim === 0 ? 1 : self.shape[d]!;
  if (!Number.isInteger(k) || k < 0 || k > size) throw invalidValue('topk', `k must be an integer in [0, ${size}] (the size of dimension ${d})`, k);
  const values = ex.empty(self.dtype, self.shape);
  const indices = ex.empty('int64', self.shape);
  sortInto(ex, self, d, largest, values, indices);
  if (self.ndim === 0) return [values, indices];
  // The first k of each sorted row (PyTorch's sorted=True order; sorted=False may order them anyhow).
  const [v, i] = [values.slice(d, 0, k).contiguous(), indices.slice(d, 0, k).contiguous()];
  values.dispose();
  indices.dispose();
  return [v, i];
});

interface ArgsortArgs extends OpArgs {
  readonly self: Tensor;
  readonly dim: number;
  readonly descending: boolean;
}

export const ARGSORT = defineOp({
  schemas: ['argsort(Tensor self, int dim=-1, bool descending=False) -> Tensor'],
  result: (call, { self, dim }: ArgsortArgs) => ({ shape: self.shape, dtype: 'int64' as DType, dim: checkDim(call, dim, self.ndim) }),
  kernel: (_call, ex, out, { self, descending }: ArgsortArgs, { dim }) => {
    // The sorted values go to scratch memory, freed in stream order.
    const values = ex.empty(self.dtype, self.shape);
    sortInto(ex, self, dim, descending, values, out);
    values.dispose();
  },
  doc: 'the indices that sort self along dim (stably; NaN sorts above every number)',
});

interface CumsumArgs extends OpArgs {
  readonly self: Tensor;
  readonly dim: number;
  readonly dtype?: DType | null;
}

export const CUMSUM = defineOp({
  schemas: ['cumsum(Tensor self, int dim, *, ScalarType? dtype=None) -> Tensor'],
  out: true,
  result: (call, { self, dim, dtype }: CumsumArgs) => {
    const d = checkDim(call, dim, self.ndim);
    if (dtype !== undefined && dtype !== null && !Object.hasOwn(DTYPES, dtype)) throw invalidValue(call, 'dtype must be a dtype name', dtype);
    // Integers and bools accumulate into int64, as sum does.
    const type = dtype ?? (DTYPES[self.dtype].category === 'floating' ? self.dtype : 'int64');
    return { shape: self.shape, dtype: type, dim: d };
  },
  kernel: (_call, ex, out, { self }: CumsumArgs, { dim }) => {
    if (out.numel() > 0) ex.launch(TensorKernel.cumsum, { out: withDimLast(out, dim), input: withDimLast(self, dim) });
  },
  derivatives: {
    // Each input adds into every later output: the gradient is the reversed running sum.
    self: (g, { self, dim }: CumsumArgs) => {
      const d = checkDim('cumsum backward', dim, self.ndim);
      const flipped = g.flip([d]).cumsum(d).flip([d]);
      return flipped.dtype === self.dtype ? flipped : flipped.to(self.dtype);
    },
  },
  autocast: 'float32',
  doc: 'running sums along dim; integers and bools sum into int64',
});

declare module '../../tensor/tensor.js' {
  interface Tensor {
    argsort: OpMethod<[dim?: number, descending?: boolean]>;
    cumsum: OpMethod<[dim: number, dtype?: DType]>;
  }
}

import { invalidValue } from '../../errors/errors.js';
import { DTYPES, type DType, type DTypeAlias } from '../../tensor/dtype.js';
import { checkDim } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { type OpArgs, type OpMethod, defineOp } from '../define-op.js';
import { ReduceOp } from '../../protocol/tensor-abi.js';
import { TensorKernel } from '../../protocol/tensor-kernel-signatures.js';
import { type Executor, viewOf } from '../executor.js';
import { defineBuiltin } from '../register.js';
import { where } from './selection.js';

/** Reductions over chosen dimensions (all when none are named), with keepdim. */

/** keepdim: false when not given; anything but a boolean is refused. */
function keepdimOf(call: string, keepdim: unknown): boolean {
  if (keepdim === undefined) return false;
  if (typeof keepdim !== 'boolean') throw invalidValue(call, 'keepdim must be a boolean', keepdim);
  return keepdim;
}

function reducedDims(call: string, self: Tensor, dim: unknown): number[] {
  if (dim === undefined) return self.shape.map((_, i) => i);
  const list = typeof dim === 'number' ? [dim] : dim;
  if (!Array.isArray(list)) throw invalidValue(call, 'dim must be an integer or an array of integers', dim);
  const dims = list.map((d) => checkDim(call, d, self.ndim));
  if (new Set(dims).size !== dims.length) throw invalidValue(call, 'dim names a dimension twice', dim);
  // An empty list reduces every dimension (PyTorch's sum(dim=[])).
  return dims.length === 0 ? self.shape.map((_, i) => i) : dims.filter((d) => d < self.ndim);
}

/**
 * Launches `op` over `dims` of `self` into `out` (and `indices`): the kernel sees the input
 * permuted so that the kept dimensions come first, and the outputs in the kept dimensions.
 */
export function reduceInto(ex: Executor, op: ReduceOp, self: Tensor, dims: readonly number[], keepdim: boolean, out: Tensor, indices?: Tensor): void {
  const kept = self.shape.map((_, i) => i).filter((i) => !dims.includes(i));
  const keptShape = kept.map((d) => self.shape[d]!);
  // Out's strides per kept dimension (keepdim leaves size-1 dims in out: skip them).
  const inKept = (t: Tensor) => viewOf(t, keptShape, keepdim ? kept.map((d) => t.strides[d]!) : t.strides);
  const order = [...kept, ...dims];
  const input = viewOf(self, order.map((d) => self.shape[d]!), order.map((d) => self.strides[d]!));
  ex.launch(TensorKernel.reduce, { op, out: inKept(out), indices: indices === undefined ? undefined : inKept(indices), input, reduced: dims.length });
}

function outShape(self: Tensor, dims: readonly number[], keepdim: boolean): number[] {
  return keepdim ? self.shape.map((n, i) => (dims.includes(i) ? 1 : n)) : self.shape.filter((_, i) => !dims.includes(i));
}

/** sum: integers and bools accumulate into int64, as PyTorch does. */
function sumType(call: string, self: Tensor, dtype: unknown): DType {
  if (dtype !== undefined && dtype !== null) {
    if (typeof dtype !== 'string' || !Object.hasOwn(DTYPES, dtype)) throw invalidValue(call, 'dtype must be a dtype name', dtype);
    return dtype as DType;
  }
  return DTYPES[self.dtype].category === 'floating' ? self.dtype : 'int64';
}

interface ReductionArgs extends OpArgs {
  readonly self: Tensor;
  readonly dim?: number | readonly number[] | null;
  readonly keepdim?: boolean;
  readonly dtype?: DType | null;
}

interface ReductionPlan {
  readonly shape: number[];
  readonly dtype: DType;
  readonly dims: readonly number[];
  readonly keepdim: boolean;
}

/** The shape/dtype rule of a reduction: which dimensions, keepdim, the result dtype, and what PyTorch refuses. */
function planReduction(op: ReduceOp) {
  return (call: string, { self, dim, keepdim: keepdimArg, dtype }: ReductionArgs): ReductionPlan => {
    const keepdim = keepdimOf(call, keepdimArg);
    const dims = reducedDims(call, self, dim ?? undefined);
    if (op === ReduceOp.mean && DTYPES[dtype ?? self.dtype].category !== 'floating') {
      throw invalidValue(call, `could not infer the output dtype: the input dtype must be a floating point type, got ${self.dtype}`);
    }
    // max and min have no identity: PyTorch refuses to reduce a dimension of size 0 (sum gives 0, mean NaN).
    if (op === ReduceOp.max || op === ReduceOp.min) {
      const empty = self.ndim === 0 ? undefined : dims.find((d) => self.shape[d] === 0);
      if (empty !== undefined) throw invalidValue(call, `expected reduction dim ${empty} to have non-zero size (input shape [${self.shape.join(", ")}])`);
    }
    const type = op === ReduceOp.sum || op === ReduceOp.prod ? sumType(call, self, dtype) : (dtype ?? self.dtype);
    return { shape: outShape(self, dims, keepdim), dtype: type, dims, keepdim };
  };
}

const reduceKernel = (op: ReduceOp) => (_call: string, ex: Executor, out: Tensor, { self }: ReductionArgs, plan: ReductionPlan) => reduceInto(ex, op, self, plan.dims, plan.keepdim, out);

/** The gradient of a reduction: g with the reduced dims back (size 1), expanded to self's shape. */
function expandReduced(g: Tensor, self: Tensor, dims: readonly number[], keepdim: boolean): Tensor {
  let h = g;
  if (!keepdim) for (const d of [...dims].sort((p, q) => p - q)) h = h.unsqueeze(d);
  return h.expand(...self.shape).contiguous();
}

const REDUCE_SCHEMAS = (name: string, dimOverload: string) => [
  `${name}(Tensor self, *, ScalarType? dtype=None) -> Tensor`,
  `${name}.${dimOverload}(Tensor self, int[1]? dim, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor`,
];

const planSum = planReduction(ReduceOp.sum);
const planMean = planReduction(ReduceOp.mean);

export const SUM = defineOp({
  schemas: REDUCE_SCHEMAS('sum', 'dim_IntList'),
  result: planSum,
  kernel: reduceKernel(ReduceOp.sum),
  derivatives: {
    self: (g, a: ReductionArgs) => {
      const plan = planSum('sum backward', a);
      return expandReduced(g, a.self, plan.dims, plan.keepdim);
    },
  },
  autocast: 'float32',
  doc: 'sum over dim (all when omitted); integers and bools sum into int64',
});

export const MEAN = defineOp({
  schemas: REDUCE_SCHEMAS('mean', 'dim'),
  result: planMean,
  kernel: reduceKernel(ReduceOp.mean),
  derivatives: {
    self: (g, a: ReductionArgs) => {
      const plan = planMean('mean backward', a);
      const count = plan.dims.reduce((p, d) => p * a.self.shape[d]!, 1);
      return expandReduced(g.div(count), a.self, plan.dims, plan.keepdim);
    },
  },
  autocast: 'float32',
  doc: 'mean over dim (all when omitted); floating dtypes only; NaN over nothing',
});

export const AMAX = defineOp({
  schemas: ['amax(Tensor self, int[1] dim=[], bool keepdim=False) -> Tensor'],
  result: planReduction(ReduceOp.max),
  kernel: reduceKernel(ReduceOp.max),
  doc: 'the largest elements over dim (all when empty); refused over a dimension of size 0',
});

const planProd = planReduction(ReduceOp.prod);

export const PROD = defineOp({
  schemas: REDUCE_SCHEMAS('prod', 'dim_int').map((schema, i) => (i === 0 ? schema : schema.replace('int[1]? dim', 'int dim'))),
  result: planProd,
  kernel: reduceKernel(ReduceOp.prod),
  derivatives: {
    // The product of the others, as PyTorch's prod_backward: result / x without zeros; with one
    // zero in a slice, the product of the rest at the zero and 0 elsewhere; with more, 0.
    self: (g, a: ReductionArgs, result) => {
      const plan = planProd('prod backward', a);
      const x = a.self;
      const spread = (t: Tensor) => expandReduced(t, x, plan.dims, plan.keepdim);
      const zero = x.eq(0);
      const zeros = spread(zero.sum(plan.dims, plan.keepdim));
      const ones = where(zero, 1, x);
      const others = spread(plan.dims.length === x.ndim ? ones.prod() : ones.prod(plan.dims[0], plan.keepdim));
      const gx = spread(g);
      const noZero = gx.mul(spread(result)).div(x);
      return where(zeros.eq(0), noZero, where(zeros.eq(1).logicalAnd(zero), gx.mul(others), 0));
    },
  },
  saves: ['self', 'result'],
  doc: 'product over dim (all when omitted); integers and bools multiply into int64; 1 over nothing',
});

export const AMIN = defineOp({
  schemas: ['amin(Tensor self, int[1] dim=[], bool keepdim=False) -> Tensor'],
  result: planReduction(ReduceOp.min),
  kernel: reduceKernel(ReduceOp.min),
  doc: 'the smallest elements over dim (all when empty); refused over a dimension of size 0',
});

interface ArgReductionArgs extends OpArgs {
  readonly self: Tensor;
  readonly dim?: number | null;
  readonly keepdim?: boolean;
}

/** argmax and argmin: the index of the first extreme along dim, or in the flattened tensor when dim is None. */
function argReduction(name: 'argmax' | 'argmin', op: ReduceOp) {
  return defineOp({
    schemas: [`${name}(Tensor self, int? dim=None, bool keepdim=False) -> Tensor`],
    result: (call, { self, dim, keepdim: keepdimArg }: ArgReductionArgs) => {
      const keepdim = keepdimOf(call, keepdimArg);
      if (self.dtype === 'bool') throw invalidValue(call, `${name} is not implemented for bool tensors`);
      if (dim === undefined || dim === null) {
        if (self.numel() === 0) throw invalidValue(call, `cannot perform reduction function ${name} on a tensor with no elements because the operation does not have an identity`);
        return { shape: keepdim ? self.shape.map(() => 1) : [], dtype: 'int64' as DType, dims: self.shape.map((_, i) => i), keepdim };
      }
      const d = checkDim(call, dim, self.ndim);
      const dims = self.ndim === 0 ? [] : [d];
      if (self.ndim > 0 && self.shape[d] === 0) throw invalidValue(call, `expected reduction dim ${d} to have non-zero size (input shape [${self.shape.join(', ')}])`);
      return { shape: outShape(self, dims, keepdim), dtype: 'int64' as DType, dims, keepdim };
    },
    kernel: (_call, ex, out, { self }: ArgReductionArgs, plan) => {
      // The kernel writes the extreme's value beside its index: into scratch memory freed in stream order.
      const values = ex.empty(self.dtype, out.shape);
      reduceInto(ex, op, self, plan.dims, plan.keepdim, values, out);
      values.dispose();
    },
    doc: `the index of the ${name === 'argmax' ? 'largest' : 'smallest'} element along dim (of the flattened tensor when dim is omitted), int64; the first one on ties`,
  });
}

export const ARGMAX = argReduction('argmax', ReduceOp.max);
export const ARGMIN = argReduction('argmin', ReduceOp.min);

declare module '../../tensor/tensor.js' {
  interface Tensor {
    amin: OpMethod<[dim?: number | readonly number[], keepdim?: boolean]>;
    prod: OpMethod<[dim?: number, keepdim?: boolean, dtype?: DType | DTypeAlias]>;
    argmax: OpMethod<[dim?: number | null, keepdim?: boolean]>;
    argmin: OpMethod<[dim?: number | null, keepdim?: boolean]>;
    sum: OpMethod<[dim?: number | readonly number[] | null, keepdim?: boolean, dtype?: DType | DTypeAlias]>;
    mean: OpMethod<[dim?: number | readonly number[] | null, keepdim?: boolean, dtype?: DType | DTypeAlias]>;
    amax: OpMethod<[dim?: number | readonly number[], keepdim?: boolean]>;
  }
}

/** max or min: the extreme element, or `(values, indices)` along one dimension (the index of the first extreme). */
function defineExtreme(name: 'max' | 'min', op: ReduceOp): void {
  defineBuiltin(`${name}(Tensor self) -> Tensor`, (ex, self: Tensor) => {
    if (self.numel() === 0) throw invalidValue(name, `expected a non-empty tensor (${name} has no identity)`);
    const plan = planReduction(op)(name, { self });
    const out = ex.empty(plan.dtype, plan.shape);
    reduceInto(ex, op, self, plan.dims, plan.keepdim, out);
    return out;
  });
  defineBuiltin(`${name}.dim(Tensor self, int dim, bool keepdim=False) -> (Tensor values, Tensor indices)`, (ex, self: Tensor, dim: unknown, keepdimArg: unknown) => {
    const keepdim = keepdimOf(name, keepdimArg);
    const d = checkDim(name, dim, self.ndim);
    const dims = self.ndim === 0 ? [] : [d];
    if (self.ndim > 0 && self.shape[d] === 0) throw invalidValue(name, `cannot reduce dimension ${d} of size 0`);
    const shape = outShape(self, dims, keepdim);
    const values = ex.empty(self.dtype, shape);
    const indices = ex.empty('int64', shape);
    reduceInto(ex, op, self, dims, keepdim, values, indices);
    return [values, indices];
  });
}

defineExtreme('max', ReduceOp.max);
defineExtreme('min', ReduceOp.min);

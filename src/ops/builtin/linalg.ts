import { invalidValue } from '../../errors/errors.js';
import { UnaryOp } from '../../protocol/tensor-abi.js';
import { TensorKernel } from '../../protocol/tensor-kernel-signatures.js';
import { registerStub, stubKernel } from '../../dispatch/stubs.js';
import { DTYPES, type DType, type DTypeAlias } from '../../tensor/dtype.js';
import { broadcastShapes, checkDim, contiguousStrides, expandStrides, viewStrides } from '../../tensor/shape.js';
import { Tensor, op } from '../../tensor/tensor.js';
import type { Executor } from '../executor.js';
import { defineBuiltin, executorOf } from '../register.js';
import { type OpArgs, type OpMethod, defineOp } from '../define-op.js';
import { sumTo } from '../autograd/formula.js';
import { launchUnary } from './launch.js';
import { cloneOn } from './views.js';

/** Matrix products, softmax, and abs (the op that goes through a per-backend stub). */

function requireMatrixOperands(call: string, a: unknown, b: unknown): [Tensor, Tensor] {
  if (!(a instanceof Tensor) || !(b instanceof Tensor)) throw invalidValue(call, 'both operands must be Tensors', !(a instanceof Tensor) ? a : b);
  if (a.dtype !== b.dtype) throw invalidValue(call, `expected both operands to have the same dtype, but got ${a.dtype} and ${b.dtype}`);
  if (a.dtype === 'bool') throw invalidValue(call, 'bool matrices are not supported');
  return [a, b];
}

/** dtypes whose elements a typed array holds as plain numbers. */
const PLAIN_DTYPES = new Set(['float32', 'float64', 'int32', 'uint8']);

/** out[b] = a[b] · bm[b] for 3-D operands (batch, rows, columns), any strides. */
function bmmInto(ex: Executor, out: Tensor, a: Tensor, b: Tensor): void {
  // The register-blocked kernel reads plain arrays; other dtypes take the general one (chosen here, on the host).
  const plain = PLAIN_DTYPES.has(out.dtype) && PLAIN_DTYPES.has(a.dtype) && PLAIN_DTYPES.has(b.dtype);
  ex.launch(plain ? TensorKernel.matmulPlain : TensorKernel.matmul, { out, a, b });
}

/** A view of `t` with `shape`, copying first when its layout does not allow one. */
function reshaped(ex: Executor, t: Tensor, shape: number[]): { tensor: Tensor; temp: Tensor | undefined } {
  const strides = viewStrides(t.shape, t.strides, shape);
  if (strides !== undefined) return { tensor: t.viewAs(shape, strides, t.storageOffset), temp: undefined };
  const copy = cloneOn(ex, t);
  return { tensor: copy.viewAs(shape, contiguousStrides(shape), 0), temp: copy };
}

interface ProductPlan {
  readonly shape: number[];
  readonly dtype: DType;
  readonly batch: number[];
  readonly n: number;
  readonly k: number;
  readonly m: number;
}

/** matmul's shape rule (PyTorch's): vectors as rows or columns, batch dimensions broadcast. */
function planProduct(call: string, x: Tensor, y: Tensor): ProductPlan {
  if (x.ndim === 0 || y.ndim === 0) throw invalidValue(call, `both arguments to matmul need to be at least 1D, but they are ${x.ndim}D and ${y.ndim}D`);
  const n = x.ndim === 1 ? 1 : x.shape[x.ndim - 2]!;
  const k = x.shape[x.ndim - 1]!;
  const k2 = y.ndim === 1 ? y.shape[0]! : y.shape[y.ndim - 2]!;
  const m = y.ndim === 1 ? 1 : y.shape[y.ndim - 1]!;
  if (k !== k2) throw invalidValue(call, `shapes [${x.shape.join(', ')}] and [${y.shape.join(', ')}] cannot be multiplied (${n}x${k} and ${k2}x${m})`);
  const batch = broadcastShapes(call, x.shape.slice(0, -2), y.shape.slice(0, -2));
  return { shape: [...batch, ...(x.ndim > 1 ? [n] : []), ...(y.ndim > 1 ? [m] : [])], dtype: x.dtype, batch, n, k, m };
}

/** Computes x·y into contiguous `out` as one batched product over 3-D views (copies only where a layout allows no view). */
function productInto(call: string, ex: Executor, out: Tensor, x: Tensor, y: Tensor, plan: ProductPlan): void {
  const { batch, n, k, m } = plan;
  const count = batch.reduce((p, d) => p * d, 1);
  // Each operand as (batch..., rows, columns), broadcast, then the batch flattened.
  const as3d = (t: Tensor, rows: number, cols: number, isVectorRow: boolean) => {
    const matrixShape = t.ndim === 1 ? (isVectorRow ? [1, t.shape[0]!] : [t.shape[0]!, 1]) : t.shape.slice(-2);
    const matrixStrides = t.ndim === 1 ? (isVectorRow ? [0, t.strides[0]!] : [t.strides[0]!, 0]) : t.strides.slice(-2);
    const lead = t.ndim <= 2 ? [] : t.shape.slice(0, -2);
    const leadStrides = t.ndim <= 2 ? [] : t.strides.slice(0, -2);
    const full = [...batch, rows, cols];
    const strides = expandStrides(call, [...lead, ...matrixShape], [...leadStrides, ...matrixStrides], full);
    const expanded = t.viewAs(full, strides, t.storageOffset);
    const r = reshaped(ex, expanded, [count, rows, cols]);
    if (r.tensor !== expanded) expanded.dispose();
    return r;
  };
  const a = as3d(x, n, k, true);
  const b = as3d(y, k, m, false);
  const out3d = out.viewAs([count, n, m], [n * m, m, 1], out.storageOffset);
  bmmInto(ex, out3d, a.tensor, b.tensor);
  for (const t of [a.tensor, a.temp, b.tensor, b.temp, out3d]) t?.dispose();
}

/** The definition of a product whose second operand is argument `name`; `check` adds the op's own shape rule. */
function product(name: string, other: string, check: (call: string, x: Tensor, y: Tensor) => void) {
  type Args = OpArgs & { readonly self: Tensor } & Readonly<Record<string, unknown>>;
  return {
    schemas: [`${name}(Tensor self, Tensor ${other}) -> Tensor`],
    result: (call: string, a: Args) => {
      const [x, y] = requireMatrixOperands(call, a.self, a[other]);
      check(call, x, y);
      return planProduct(call, x, y);
    },
    kernel: (call: string, ex: Executor, out: Tensor, a: Args, plan: ProductPlan) => productInto(call, ex, out, a.self, a[other] as Tensor, plan),
  };
}

export const MM = defineOp({
  ...product('mm', 'mat2', (call, x, y) => {
    if (x.ndim !== 2 || y.ndim !== 2) throw invalidValue(call, `expected 2-D matrices, got ${x.ndim}-D and ${y.ndim}-D`);
  }),
  derivatives: {
    self: (g, a) => g.mm((a['mat2'] as Tensor).t()),
    mat2: (g, a) => a.self.t().mm(g),
  },
  saves: ['self', 'mat2'],
  autocast: 'lowerPrecision',
  doc: 'matrix product of two 2-D tensors',
});

/** matmul's gradients, as matrices: vectors get a unit dimension, which the gradients drop again. */
function matmulGrad(g: Tensor, a: Tensor, b: Tensor, which: 'self' | 'other'): Tensor {
  const a2 = a.ndim === 1 ? a.unsqueeze(0) : a;
  const b2 = b.ndim === 1 ? b.unsqueeze(1) : b;
  let g2 = g;
  if (a.ndim === 1) g2 = g2.unsqueeze(g2.ndim - (b.ndim === 1 ? 0 : 1));
  if (b.ndim === 1) g2 = g2.unsqueeze(g2.ndim);
  if (which === 'self') return sumTo(g2.matmul(b2.transpose(-1, -2)), a2.shape).reshape(...a.shape);
  return sumTo(a2.transpose(-1, -2).matmul(g2), b2.shape).reshape(...b.shape);
}

export const MATMUL = defineOp({
  ...product('matmul', 'other', () => undefined),
  derivatives: {
    self: (g, a) => matmulGrad(g, a.self, a['other'] as Tensor, 'self'),
    other: (g, a) => matmulGrad(g, a.self, a['other'] as Tensor, 'other'),
  },
  saves: ['self', 'other'],
  autocast: 'lowerPrecision',
  doc: 'matrix product with broadcast batch dimensions; 1-D operands as a row or a column',
});

export const DOT = defineOp({
  ...product('dot', 'tensor', (call, x, y) => {
    if (x.ndim !== 1 || y.ndim !== 1) throw invalidValue(call, `1D tensors expected, but got ${x.ndim}D and ${y.ndim}D tensors`);
    if (x.shape[0] !== y.shape[0]) throw invalidValue(call, `inconsistent tensor size, expected tensor [${x.shape[0]}] and src [${y.shape[0]}] to have the same number of elements`);
  }),
  derivatives: {
    self: (g, a) => (a['tensor'] as Tensor).mul(g),
    tensor: (g, a) => a.self.mul(g),
  },
  saves: ['self', 'tensor'],
  autocast: 'float32',
  doc: 'inner product of two 1-D tensors of one size',
});

declare module '../../tensor/tensor.js' {
  interface Tensor {
    mm: OpMethod<[mat2: Tensor]>;
    matmul: OpMethod<[other: Tensor]>;
    dot: OpMethod<[tensor: Tensor]>;
  }
}

interface SoftmaxArgs extends OpArgs {
  readonly self: Tensor;
  readonly dim: number;
  readonly dtype?: DType | null;
}

/** softmax's rule: a floating result (the input's dtype, or `dtype`, which the input is taken in). */
function planSoftmax(call: string, { self, dim, dtype }: SoftmaxArgs): { shape: readonly number[]; dtype: DType; dim: number } {
  const type = dtype ?? self.dtype;
  if (DTYPES[type].category !== 'floating') throw invalidValue(call, `softmax is not implemented for ${type} tensors`);
  return { shape: self.shape, dtype: type, dim: checkDim(call, dim, self.ndim) };
}

/** A gradient computed in the result's dtype, back in the input's (they differ when `dtype` was given). */
const inInputType = (grad: Tensor, self: Tensor): Tensor => (grad.dtype === self.dtype ? grad : grad.to(self.dtype));

/** softmax and log_softmax along dim: the kernel reads the input in any dtype and computes in doubles. */
function softmaxOp(name: string, method: string, log: boolean, derivative: (g: Tensor, y: Tensor, dim: number) => Tensor, doc: string) {
  return defineOp({
    schemas: [`${name}.int(Tensor self, int dim, ScalarType? dtype=None) -> Tensor`],
    method,
    result: planSoftmax,
    kernel: (_call, ex, out, { self }: SoftmaxArgs, plan) => ex.launch(TensorKernel.softmax, { log: log ? 1 : 0, out, x: self, dim: plan.dim }),
    derivatives: { self: (g, a: SoftmaxArgs, y) => inInputType(derivative(g, y, checkDim(name, a.dim, y.ndim)), a.self) },
    saves: ['result'],
    autocast: 'float32',
    doc,
  });
}

export const SOFTMAX = softmaxOp('softmax', 'softmax', false, (g, y, dim) => op('softmax backward', '_softmax_backward_data', [g, y, dim, y.dtype]) as Tensor, 'exp(self) / Σ exp(self) along dim, in dtype when given');
export const LOG_SOFTMAX = softmaxOp('log_softmax', 'logSoftmax', true, (g, y, dim) => g.sub(y.exp().mul(g.sum(dim, true))), 'self − log Σ exp(self) along dim, in dtype when given');

declare module '../../tensor/tensor.js' {
  interface Tensor {
    softmax: OpMethod<[dim: number, dtype?: DType | DTypeAlias]>;
    logSoftmax: OpMethod<[dim: number, dtype?: DType | DTypeAlias]>;
  }
}

defineBuiltin('_softmax_backward_data(Tensor grad_output, Tensor output, int dim, ScalarType input_dtype) -> Tensor', (ex, g: Tensor, y: Tensor, dim: number) => {
  const out = ex.empty(y.dtype, y.shape);
  const d = checkDim('softmax backward', dim, y.ndim);
  ex.launch(TensorKernel.softmaxBackward, { out, grad: g, y, dim: d });
  return out;
});

// abs goes through abs.out to the abs_stub of the backend it runs on (PyTorch's DispatchStub).
defineBuiltin('abs(Tensor self) -> Tensor', (ex, self: unknown) => {
  if (!(self instanceof Tensor)) throw invalidValue('abs', 'self must be a Tensor', self);
  if (self.dtype === 'bool') throw invalidValue('abs', 'abs is not implemented for bool tensors');
  const out = ex.empty(self.dtype, self.shape);
  absOut(ex, self, out);
  return out;
});
defineBuiltin('abs.out(Tensor self, *, Tensor(a!) out) -> Tensor(a!)', (ex, self: unknown, out: unknown) => {
  if (!(self instanceof Tensor) || !(out instanceof Tensor)) throw invalidValue('abs.out', 'self and out must be Tensors', !(self instanceof Tensor) ? self : out);
  return absOut(ex, self, out);
});

function absOut(ex: Executor, self: Tensor, out: Tensor): Tensor {
  if (out.shape.join() !== self.shape.join()) throw invalidValue('abs.out', `out has shape [${out.shape.join(', ')}] but the result has shape [${self.shape.join(', ')}]`);
  if (ex.device.type === 'meta') return out;
  const kernel = stubKernel('abs', 'abs_stub', ex.device.type, 'aten::abs.out') as (out: Tensor, self: Tensor) => void;
  kernel(out, self);
  return out;
}

/** The builtin backends' abs_stub: the elementwise kernel on the tensors' device. */
export function absKernel(ex: Executor, out: Tensor, self: Tensor): void {
  launchUnary('abs', ex, UnaryOp.abs, out, self);
}

registerStub('abs_stub', 'cpu', (out: Tensor, self: Tensor) => absKernel(executorOf('abs', [out]), out, self));

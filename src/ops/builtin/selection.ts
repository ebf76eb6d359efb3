import { invalidValue } from '../../errors/errors.js';
import { type DType, castScalar, promoteDTypes, promoteWithScalar, scalarKind } from '../../tensor/dtype.js';
import { broadcastShapes } from '../../tensor/shape.js';
import { Tensor, op as callOp } from '../../tensor/tensor.js';
import { expandStrides } from '../../tensor/shape.js';
import { viewOf } from '../executor.js';
import { type OpArgs, type OpMethod, defineOp } from '../define-op.js';
import { sumTo } from '../autograd/formula.js';
import { TensorKernel } from '../../protocol/tensor-kernel-signatures.js';
import { BinaryOp, checkNoPartialOverlap, launchBinary } from './launch.js';

/** Picking elements by a condition or a range: where and clamp. */

type Value = Tensor | number | boolean | bigint;

/** PyTorch's result_type of tensors and scalars (scalars count by category only). */
function commonType(values: readonly Value[]): DType {
  let tensors: DType | undefined;
  for (const v of values) if (v instanceof Tensor) tensors = tensors === undefined ? v.dtype : promoteDTypes(tensors, v.dtype);
  let result = tensors;
  for (const v of values) {
    if (v instanceof Tensor) continue;
    const kind = scalarKind(v);
    result = result === undefined ? (kind === 'float' ? 'float32' : kind === 'int' ? 'int64' : 'bool') : promoteWithScalar(result, kind);
  }
  return result!;
}

const shapeOf = (v: Value): readonly number[] => (v instanceof Tensor ? v.shape : []);

interface WhereArgs extends OpArgs {
  readonly condition: Tensor;
  readonly self: Value;
  readonly other: Value;
}

export const WHERE = defineOp({
  schemas: [
    'where.self(Tensor condition, Tensor self, Tensor other) -> Tensor',
    'where.ScalarSelf(Tensor condition, Scalar self, Tensor other) -> Tensor',
    'where.ScalarOther(Tensor condition, Tensor self, Scalar other) -> Tensor',
    'where.Scalar(Tensor condition, Scalar self, Scalar other) -> Tensor',
  ],
  method: false,
  function: 'where',
  out: true,
  result: (call, { condition, self, other }: WhereArgs) => {
    // uint8 conditions are PyTorch's deprecated masks: still taken, nonzero is true.
    if (condition.dtype !== 'bool' && condition.dtype !== 'uint8') throw invalidValue(call, `expected condition to be a boolean tensor, but got a tensor with dtype ${condition.dtype}`);
    const shape = broadcastShapes(call, broadcastShapes(call, condition.shape, shapeOf(self)), shapeOf(other));
    return { shape, dtype: commonType([self, other]) };
  },
  kernel: (call, ex, out, { condition, self, other }: WhereArgs, { dtype }) => {
    const operand = (v: Value) => {
      if (!(v instanceof Tensor)) return castScalar(dtype, Number(v));
      checkNoPartialOverlap(call, out, v);
      return viewOf(v, out.shape, expandStrides(call, v.shape, v.strides, out.shape));
    };
    checkNoPartialOverlap(call, out, condition);
    ex.launch(TensorKernel.where, { out, condition: viewOf(condition, out.shape, expandStrides(call, condition.shape, condition.strides, out.shape)), a: operand(self), b: operand(other) });
  },
  derivatives: {
    self: (g, a: WhereArgs) => sumTo(callOp('where backward', 'where.ScalarOther', [a.condition, g, 0]) as Tensor, shapeOf(a.self)),
    other: (g, a: WhereArgs) => sumTo(callOp('where backward', 'where.ScalarSelf', [a.condition, 0, g]) as Tensor, shapeOf(a.other)),
  },
  saves: ['condition'],
  doc: 'self where condition (bool) holds, other elsewhere; broadcast, promoted',
});

/** `where(condition, g, 0)`: the gradient where `condition` holds. */
const gradWhere = (condition: Tensor, g: Tensor): Tensor => callOp('clamp backward', 'where.ScalarOther', [condition, g, 0]) as Tensor;

interface ClampArgs extends OpArgs {
  readonly self: Tensor;
  readonly min: Value | undefined | null;
  readonly max: Value | undefined | null;
}

const given = (v: Value | undefined | null): v is Value => v !== undefined && v !== null;

export const CLAMP = defineOp({
  schemas: ['clamp(Tensor self, Scalar? min=None, Scalar? max=None) -> Tensor', 'clamp.Tensor(Tensor self, Tensor? min=None, Tensor? max=None) -> Tensor'],
  inplace: true,
  out: true,
  result: (call, { self, min, max }: ClampArgs) => {
    if (!given(min) && !given(max)) throw invalidValue(call, "at least one of 'min' or 'max' must not be None");
    const dtype = commonType([self, ...[min, max].filter(given)]);
    if (dtype === 'bool') throw invalidValue(call, 'clamp is not implemented for bool tensors');
    let shape = self.shape;
    for (const bound of [min, max]) if (bound instanceof Tensor) shape = broadcastShapes(call, shape, bound.shape);
    return { shape, dtype };
  },
  kernel: (call, ex, out, { self, min, max }: ClampArgs, { dtype }) => {
    // A scalar bound is cast to the result's dtype first, as PyTorch does (−1 as uint8 is 255).
    const bound = (v: Value) => (v instanceof Tensor ? v : castScalar(dtype, Number(v)));
    let source = self;
    if (given(min)) {
      launchBinary(call, ex, BinaryOp.maximum, out, source, bound(min));
      source = out;
    }
    if (given(max)) launchBinary(call, ex, BinaryOp.minimum, out, source, bound(max));
  },
  derivatives: {
    self: (g, { self, min, max }: ClampArgs) => {
      let inside: Tensor | undefined;
      if (given(min)) inside = self.ge(min as Tensor | number);
      if (given(max)) inside = inside === undefined ? self.le(max as Tensor | number) : inside.logicalAnd(self.le(max as Tensor | number));
      return sumTo(gradWhere(inside!, g), self.shape);
    },
    min: (g, { self, min, max }: ClampArgs) => {
      const lo = min as Tensor;
      const below = self.lt(lo);
      return sumTo(gradWhere(given(max) ? below.logicalAnd(lo.lt(max as Tensor)) : below, g), lo.shape);
    },
    max: (g, { self, min, max }: ClampArgs) => {
      const hi = max as Tensor;
      const above = self.gt(hi);
      return sumTo(gradWhere(given(min) ? above.logicalOr(hi.lt(min as Tensor)) : above, g), hi.shape);
    },
  },
  saves: ['self', 'min', 'max'],
  autocast: 'promote',
  doc: 'self limited to [min, max] (either may be omitted; min > max gives max); NaN stays NaN',
});

interface MaskedFillArgs extends OpArgs {
  readonly self: Tensor;
  readonly mask: Tensor;
  readonly value: Value;
}

export const MASKED_FILL = defineOp({
  schemas: ['masked_fill.Scalar(Tensor self, Tensor mask, Scalar value) -> Tensor', 'masked_fill.Tensor(Tensor self, Tensor mask, Tensor value) -> Tensor'],
  method: 'maskedFill',
  inplace: true,
  out: true,
  result: (call, { self, mask, value }: MaskedFillArgs) => {
    // uint8 masks are PyTorch's deprecated form: still taken, nonzero is true.
    if (mask.dtype !== 'bool' && mask.dtype !== 'uint8') throw invalidValue(call, `expected mask to be a bool tensor, got ${mask.dtype}`);
    if (value instanceof Tensor && value.ndim !== 0) throw invalidValue(call, `only supports a 0-dimensional value tensor, but got one with ${value.ndim} dimensions`);
    return { shape: broadcastShapes(call, self.shape, mask.shape), dtype: self.dtype };
  },
  kernel: (call, ex, out, { self, mask, value }: MaskedFillArgs) => {
    const expanded = (t: Tensor) => viewOf(t, out.shape, expandStrides(call, t.shape, t.strides, out.shape));
    checkNoPartialOverlap(call, out, mask);
    const fill = value instanceof Tensor ? expanded(value) : castScalar(self.dtype, Number(value));
    ex.launch(TensorKernel.where, { out, condition: expanded(mask), a: fill, b: out === self ? out : expanded(self) });
  },
  derivatives: {
    self: (g, a: MaskedFillArgs) => sumTo(callOp('masked_fill backward', 'where.ScalarSelf', [a.mask, 0, g]) as Tensor, a.self.shape),
    value: (g, a: MaskedFillArgs) => (callOp('masked_fill backward', 'where.ScalarOther', [a.mask, g, 0]) as Tensor).sum(),
  },
  saves: ['mask'],
  doc: 'self with value where mask (bool, broadcast to self) is true',
});

declare module '../../tensor/tensor.js' {
  interface Tensor {
    maskedFill: OpMethod<[mask: Tensor, value: Value]>;
    maskedFill_: OpMethod<[mask: Tensor, value: Value]>;
    clamp: OpMethod<[min?: Value | null, max?: Value | null]>;
    clamp_: OpMethod<[min?: Value | null, max?: Value | null]>;
  }
}

/** where(condition, self, other): self where condition holds, other elsewhere (PyTorch's torch.where). */
export const where = WHERE.call as (condition: Tensor, self: Value, other: Value) => Tensor;

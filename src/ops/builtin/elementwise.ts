import { invalidValue } from '../../errors/errors.js';
import { DTYPES, type DType, castScalar, promoteDTypes, promoteWithScalar, scalarKind } from '../../tensor/dtype.js';
import { broadcastShapes } from '../../tensor/shape.js';
import { Tensor, op as callOp } from '../../tensor/tensor.js';
import { defineBuiltin } from '../register.js';
import { type OpArgs, type OpMethod, defineOp } from '../define-op.js';
import { sumTo } from '../autograd/formula.js';
import { BinaryOp, UnaryOp, launchBinary, launchUnary } from './launch.js';

/**
 * The elementwise ops, each one defineOp: PyTorch's broadcasting and type promotion, the
 * out= form, the in-place form where PyTorch has one, the derivatives and the method.
 */

export function requireScalar(call: string, name: string, v: unknown): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v !== 'number') throw invalidValue(call, `${name} must be a number`, v);
  return v;
}

type Kind = 'arith' | 'div' | 'compare' | 'float' | 'logical';

/** The dtype op `kind` computes into from operand dtype `common`. */
function outputType(kind: Kind, common: DType): DType {
  if (kind === 'compare' || kind === 'logical') return 'bool';
  if ((kind === 'div' || kind === 'float') && DTYPES[common].category !== 'floating') return 'float32';
  return common;
}

/** A scalar operand as given (its kind decides promotion: `bool.add(true)` stays bool) and as the kernel takes it. */
type Other = Tensor | number | boolean | bigint;

interface BinaryArgs extends OpArgs {
  readonly self: Tensor;
  readonly other: Other;
  readonly alpha?: number | boolean;
}

interface BinaryPlan {
  readonly shape: readonly number[];
  /** The result's dtype. */
  readonly dtype: DType;
  /** The dtype the operands meet in (a comparison computes in it, then answers bool). */
  readonly common: DType;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The shape/dtype rule of a binary op of `kind`: broadcasting, PyTorch's promotion, and the combinations it refuses. */
export function planBinary(kind: Kind, op: BinaryOp): (call: string, args: BinaryArgs) => BinaryPlan {
  return (call, { self: a, other: b }) => {
    const common = b instanceof Tensor ? promoteDTypes(a.dtype, b.dtype) : promoteWithScalar(a.dtype, scalarKind(b));
    // PyTorch refuses subtraction with any bool operand (use logical_not() to invert a mask).
    if (op === BinaryOp.sub && (a.dtype === 'bool' || (b instanceof Tensor ? b.dtype === 'bool' : typeof b === 'boolean'))) {
      throw invalidValue(call, 'subtraction with a bool tensor or scalar is not supported; use logical_not() to invert a mask');
    }
    const dtype = outputType(kind, common);
    if ((op === BinaryOp.remainder || op === BinaryOp.fmod) && common === 'bool') throw invalidValue(call, `${call.replace(/_$/, '').replace(/\.out$/, '')} is not implemented for bool tensors`);
    if ((op === BinaryOp.remainder || op === BinaryOp.fmod) && DTYPES[common].category !== 'floating' && !(b instanceof Tensor) && Number(b) === 0) {
      throw invalidValue(call, 'integer division by zero (ZeroDivisionError)', b);
    }
    if (op === BinaryOp.pow) {
      if (dtype === 'bool') throw invalidValue(call, 'pow is not implemented for bool tensors');
      if (DTYPES[a.dtype].category !== 'floating' && !(b instanceof Tensor) && typeof b !== 'boolean' && Number(b) < 0 && Number.isInteger(Number(b))) {
        throw invalidValue(call, 'integers to negative integer powers are not allowed', b);
      }
    }
    // The result takes self's (frozen) shape when nothing broadcasts: no new array per op.
    const shape = !(b instanceof Tensor) || sameShape(a.shape, b.shape) ? a.shape : broadcastShapes(call, a.shape, b.shape);
    return { shape, dtype, common };
  };
}

/** alpha as PyTorch's alpha_check takes it: bool only for bool results, integral for integral ones. */
function alphaOf(call: string, dtype: DType, alpha: unknown): number {
  const value = requireScalar(call, 'alpha', alpha);
  if (typeof alpha === 'boolean' && dtype !== 'bool') throw invalidValue(call, 'boolean alpha is only supported for boolean results', alpha);
  if (DTYPES[dtype].category !== 'floating' && !Number.isInteger(value)) {
    throw invalidValue(call, 'for integral input tensors, argument alpha must not be a floating point number', alpha);
  }
  // A bool result takes alpha as a bool (PyTorch casts it): True + (-1)·True stays True.
  return dtype === 'bool' ? Number(value !== 0) : value;
}

/** The kernel of a binary op: the strided (or, chosen on the host, contiguous) binary kernel. */
export function binaryKernel(kind: Kind, op: BinaryOp) {
  return (call: string, ex: Parameters<typeof launchBinary>[1], out: Tensor, { self, other, alpha }: BinaryArgs, plan: BinaryPlan): void => {
    // A comparison sees a scalar cast to the common dtype, as PyTorch's does.
    const b = other instanceof Tensor ? other : kind === 'compare' ? castScalar(plan.common, Number(other)) : Number(other);
    launchBinary(call, ex, op, out, self, b, alpha === undefined ? 1 : alphaOf(call, plan.dtype, alpha));
  };
}

const ALPHA = ', *, Scalar alpha=1';

/** The schemas of a binary op: name.Tensor and name.Scalar (alpha: add and sub). */
function binarySchemas(name: string, alpha: boolean): string[] {
  return [`${name}.Tensor(Tensor self, Tensor other${alpha ? ALPHA : ''}) -> Tensor`, `${name}.Scalar(Tensor self, Scalar other${alpha ? ', Scalar alpha=1' : ''}) -> Tensor`];
}

const tensorOf = (v: Other): Tensor => v as Tensor;
const alphaNumber = (a: BinaryArgs): number => (a.alpha === undefined ? 1 : Number(a.alpha));

export const ADD = defineOp({
  schemas: binarySchemas('add', true),
  inplace: true,
  out: true,
  result: planBinary('arith', BinaryOp.add),
  kernel: binaryKernel('arith', BinaryOp.add),
  derivatives: {
    self: (g, a: BinaryArgs) => sumTo(g, a.self.shape),
    other: (g, a: BinaryArgs) => sumTo(alphaNumber(a) === 1 ? g : g.mul(alphaNumber(a)), tensorOf(a.other).shape),
  },
  autocast: 'promote',
  doc: 'self + alpha · other, broadcast, with type promotion',
});

export const SUB = defineOp({
  schemas: binarySchemas('sub', true),
  inplace: true,
  out: true,
  result: planBinary('arith', BinaryOp.sub),
  kernel: binaryKernel('arith', BinaryOp.sub),
  derivatives: {
    self: (g, a: BinaryArgs) => sumTo(g, a.self.shape),
    other: (g, a: BinaryArgs) => sumTo(g.mul(-alphaNumber(a)), tensorOf(a.other).shape),
  },
  autocast: 'promote',
  doc: 'self − alpha · other; bool operands are refused',
});

export const MUL = defineOp({
  schemas: binarySchemas('mul', false),
  inplace: true,
  out: true,
  result: planBinary('arith', BinaryOp.mul),
  kernel: binaryKernel('arith', BinaryOp.mul),
  derivatives: {
    self: (g, a: BinaryArgs) => sumTo(a.other instanceof Tensor ? g.mul(a.other) : g.mul(Number(a.other)), a.self.shape),
    other: (g, a: BinaryArgs) => sumTo(g.mul(a.self), tensorOf(a.other).shape),
  },
  saves: ['self', 'other'],
  autocast: 'promote',
  doc: 'self · other',
});

export const DIV = defineOp({
  schemas: binarySchemas('div', false),
  inplace: true,
  out: true,
  result: planBinary('div', BinaryOp.div),
  kernel: binaryKernel('div', BinaryOp.div),
  derivatives: {
    self: (g, a: BinaryArgs) => sumTo(a.other instanceof Tensor ? g.div(a.other) : g.div(Number(a.other)), a.self.shape),
    other: (g, a: BinaryArgs) => {
      const b = tensorOf(a.other);
      return sumTo(g.mul(a.self).div(b.mul(b)).neg(), b.shape);
    },
  },
  saves: ['self', 'other'],
  autocast: 'promote',
  doc: 'self / other, true division (integers give float32)',
});

for (const [name, op] of [['eq', BinaryOp.eq], ['ne', BinaryOp.ne], ['lt', BinaryOp.lt], ['le', BinaryOp.le], ['gt', BinaryOp.gt], ['ge', BinaryOp.ge]] as const) {
  defineOp({ schemas: binarySchemas(name, false), out: true, result: planBinary('compare', op), kernel: binaryKernel('compare', op), doc: `elementwise ${name} comparison in the operands' common dtype, as bool` });
}

/** Backends of an op (or overload) with no device kernel: on openreg it runs through the global CPU fallback. */
export const FALLBACK_ONLY = ['cpu', 'meta'] as const;

export const MAXIMUM = defineOp({
  schemas: ['maximum(Tensor self, Tensor other) -> Tensor'],
  result: planBinary('arith', BinaryOp.maximum),
  kernel: binaryKernel('arith', BinaryOp.maximum),
  autocast: 'promote',
  doc: 'the larger of each pair; NaN if either is',
});

export const MINIMUM = defineOp({
  schemas: ['minimum(Tensor self, Tensor other) -> Tensor'],
  result: planBinary('arith', BinaryOp.minimum),
  kernel: binaryKernel('arith', BinaryOp.minimum),
  autocast: 'promote',
  doc: 'the smaller of each pair; NaN if either is',
});

// Made once: pow names its second argument `exponent`, so its definition adapts these per call.
const planPow = planBinary('arith', BinaryOp.pow);
const powKernel = binaryKernel('arith', BinaryOp.pow);

export const POW = defineOp({
  schemas: ['pow.Tensor_Tensor(Tensor self, Tensor exponent) -> Tensor', 'pow.Tensor_Scalar(Tensor self, Scalar exponent) -> Tensor'],
  // A tensor exponent is off the training path: it shows the global fallback on a builtin op.
  overloadBackends: { Tensor_Tensor: FALLBACK_ONLY },
  result: (call, a: { self: Tensor; exponent: Other }) => planPow(call, { self: a.self, other: a.exponent }),
  kernel: (call, ex, out, a: { self: Tensor; exponent: Other }, plan) => powKernel(call, ex, out, { self: a.self, other: a.exponent }, plan),
  // Tensor_Tensor has no derivative yet: its backward is an error naming the op, never a wrong gradient.
  derivativeOverloads: ['Tensor_Scalar'],
  derivatives: { self: (g, a: { self: Tensor; exponent: Other }) => g.mul(a.self.pow(Number(a.exponent) - 1).mul(Number(a.exponent))) },
  saves: ['self'],
  autocast: 'float32',
  doc: 'self to the power exponent; integers to negative integer powers are refused',
});

/** A plan whose result must be floating (PyTorch has no integral kernel for the op). */
function floatingOnly(call: string, plan: BinaryPlan): BinaryPlan {
  if (DTYPES[plan.dtype].category !== 'floating') throw invalidValue(call, `${call.replace(/_$/, '').replace(/\.out$/, '')} is not implemented for ${plan.dtype} tensors`);
  return plan;
}

const planHypot = planBinary('arith', BinaryOp.hypot);

export const HYPOT = defineOp({
  schemas: ['hypot(Tensor self, Tensor other) -> Tensor'],
  inplace: true,
  out: true,
  result: (call, a: BinaryArgs) => floatingOnly(call, planHypot(call, a)),
  kernel: binaryKernel('arith', BinaryOp.hypot),
  derivatives: {
    self: (g, a: BinaryArgs, r) => sumTo(g.mul(a.self).div(r), a.self.shape),
    other: (g, a: BinaryArgs, r) => sumTo(g.mul(tensorOf(a.other)).div(r), tensorOf(a.other).shape),
  },
  saves: ['self', 'other', 'result'],
  doc: 'sqrt(self² + other²) without overflow in between; floating dtypes only',
});

/**
 * remainder and fmod: self − round(self / other) · other, rounded by floor (Python's modulo,
 * the sign of other) or trunc (C's fmod, the sign of self). The derivative for other is
 * −g · round(self / other).
 */
function moduloOp(name: 'remainder' | 'fmod', op: BinaryOp, round: 'floor' | 'trunc', doc: string) {
  return defineOp({
    schemas: binarySchemas(name, false),
    inplace: true,
    out: true,
    result: planBinary('arith', op),
    kernel: binaryKernel('arith', op),
    derivatives: {
      self: (g, a: BinaryArgs) => sumTo(g, a.self.shape),
      other: (g, a: BinaryArgs) => {
        const q = a.self.div(a.other as Tensor | number);
        return sumTo(g.mul(round === 'floor' ? q.floor() : q.trunc()).neg(), tensorOf(a.other).shape);
      },
    },
    saves: ['self', 'other'],
    autocast: 'promote',
    doc,
  });
}

export const REMAINDER = moduloOp('remainder', BinaryOp.remainder, 'floor', "Python's modulo: self − floor(self / other) · other, the sign of other; integers by a scalar 0 are refused");
export const FMOD = moduloOp('fmod', BinaryOp.fmod, 'trunc', "C's fmod: self − trunc(self / other) · other, the sign of self; integers by a scalar 0 are refused");

defineBuiltin('threshold_backward(Tensor grad_output, Tensor self, Scalar threshold) -> Tensor', (ex, g: Tensor, x: Tensor) => {
  const out = ex.empty(g.dtype, broadcastShapes('threshold_backward', g.shape, x.shape));
  launchBinary('threshold_backward', ex, BinaryOp.thresholdBackward, out, g, x);
  return out;
});

export interface UnaryArgs extends OpArgs {
  readonly self: Tensor;
}

/**
 * The dtype rule of a unary op: `same` keeps the dtype, `float` gives float32 for integer and
 * bool inputs, `signed` keeps it but refuses bool, `floating` refuses all but floating dtypes,
 * `bool` answers bool (a predicate).
 */
export type UnaryKind = 'same' | 'float' | 'signed' | 'floating' | 'bool';

export function unaryResult(call: string, name: string, kind: UnaryKind, self: Tensor): { shape: readonly number[]; dtype: DType } {
  if (kind === 'signed' && self.dtype === 'bool') throw invalidValue(call, `${name} is not supported for bool tensors`);
  if (kind === 'floating' && DTYPES[self.dtype].category !== 'floating') throw invalidValue(call, `${name} is not implemented for ${self.dtype} tensors`);
  return { shape: self.shape, dtype: kind === 'float' ? outputType('float', self.dtype) : kind === 'bool' ? 'bool' : self.dtype };
}

/** A unary op with its out= form. */
export function unaryOp(name: string, op: UnaryOp, kind: UnaryKind, more: { backends?: readonly string[]; method?: string; inplace?: boolean; derivative?: (g: Tensor, a: UnaryArgs, result: Tensor) => Tensor; saves?: readonly ('self' | 'result')[]; autocast?: 'float32'; doc: string }) {
  return defineOp<UnaryArgs, { shape: readonly number[]; dtype: DType }>({
    schemas: [`${name}(Tensor self) -> Tensor`],
    method: more.method,
    out: true,
    inplace: more.inplace,
    backends: more.backends,
    result: (call, { self }: UnaryArgs) => unaryResult(call, name, kind, self),
    kernel: (call, ex, out, { self }: UnaryArgs) => launchUnary(call, ex, op, out, self),
    derivatives: more.derivative === undefined ? undefined : { self: more.derivative },
    saves: more.saves,
    autocast: more.autocast,
    doc: more.doc,
  });
}

export const NEG = unaryOp('neg', UnaryOp.neg, 'signed', { derivative: (g) => g.neg(), doc: '−self' });
export const EXP = unaryOp('exp', UnaryOp.exp, 'float', { derivative: (g, _a, y) => g.mul(y), saves: ['result'], autocast: 'float32', doc: 'e to the power self' });
// relu of bool is refused, as PyTorch's clamp_min is not implemented for Bool.
export const RELU = unaryOp('relu', UnaryOp.relu, 'signed', { derivative: (g, a) => callOp('relu backward', 'threshold_backward', [g, a.self, 0]) as Tensor, saves: ['self'], doc: 'max(self, 0); NaN stays NaN' });
export const LOG = unaryOp('log', UnaryOp.log, 'float', { derivative: (g, a) => g.div(a.self), saves: ['self'], autocast: 'float32', doc: 'natural logarithm' });
export const SQRT = unaryOp('sqrt', UnaryOp.sqrt, 'float', { derivative: (g, _a, y) => g.div(y.mul(2)), saves: ['result'], doc: 'square root' });
export const TANH = unaryOp('tanh', UnaryOp.tanh, 'float', { derivative: (g, _a, y) => g.mul(y.mul(y).neg().add(1)), saves: ['result'], doc: 'hyperbolic tangent' });
export const SIGMOID = unaryOp('sigmoid', UnaryOp.sigmoid, 'float', { derivative: (g, _a, y) => g.mul(y.mul(y.neg().add(1))), saves: ['result'], doc: '1 / (1 + e^−self)' });

type Operand = Tensor | number | boolean | bigint;
declare module '../../tensor/tensor.js' {
  interface Tensor {
    add: OpMethod<[other: Operand, alpha?: number | boolean]>;
    add_: OpMethod<[other: Operand, alpha?: number | boolean]>;
    sub: OpMethod<[other: Operand, alpha?: number | boolean]>;
    sub_: OpMethod<[other: Operand, alpha?: number | boolean]>;
    mul: OpMethod<[other: Operand]>;
    mul_: OpMethod<[other: Operand]>;
    div: OpMethod<[other: Operand]>;
    div_: OpMethod<[other: Operand]>;
    eq: OpMethod<[other: Operand]>;
    ne: OpMethod<[other: Operand]>;
    lt: OpMethod<[other: Operand]>;
    le: OpMethod<[other: Operand]>;
    gt: OpMethod<[other: Operand]>;
    ge: OpMethod<[other: Operand]>;
    maximum: OpMethod<[other: Tensor]>;
    hypot: OpMethod<[other: Tensor]>;
    hypot_: OpMethod<[other: Tensor]>;
    remainder: OpMethod<[other: Operand]>;
    remainder_: OpMethod<[other: Operand]>;
    fmod: OpMethod<[other: Operand]>;
    fmod_: OpMethod<[other: Operand]>;
    minimum: OpMethod<[other: Tensor]>;
    pow: OpMethod<[exponent: Operand]>;
    neg: OpMethod<[]>;
    exp: OpMethod<[]>;
    relu: OpMethod<[]>;
    log: OpMethod<[]>;
    sqrt: OpMethod<[]>;
    tanh: OpMethod<[]>;
    sigmoid: OpMethod<[]>;
  }
}

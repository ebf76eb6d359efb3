import { invalidValue } from '../../errors/errors.js';
import { DTYPES, type DType, castScalar, resultType, scalarKind } from '../../tensor/dtype.js';
import { broadcastShapes, checkNoInternalOverlap } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import type { Executor } from '../executor.js';
import { type OpImpl, defineBuiltin } from '../register.js';
import { BinaryOp, UnaryOp, launchBinary, launchUnary } from './launch.js';

/** Elementwise ops with PyTorch's broadcasting and type promotion, each with its out= form and, where PyTorch has one, its in-place form. */

const RANK = { bool: 0, integral: 1, floating: 2 } as const;

/** PyTorch's canCast: no cast to a lower category (float into an int tensor, int into bool). */
export function checkCast(call: string, from: DType, to: DType): void {
  if (RANK[DTYPES[from].category] > RANK[DTYPES[to].category]) throw invalidValue(call, `result type ${from} can't be cast to the desired output type ${to}`);
}

function requireTensor(call: string, name: string, v: unknown): Tensor {
  if (!(v instanceof Tensor)) throw invalidValue(call, `${name} must be a Tensor`, v);
  return v;
}

export function requireScalar(call: string, name: string, v: unknown): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v !== 'number') throw invalidValue(call, `${name} must be a number`, v);
  return v;
}

function checkOut(call: string, out: Tensor, shape: readonly number[], dtype: DType): void {
  checkNoInternalOverlap(call, out.shape, out.strides);
  if (out.shape.length !== shape.length || out.shape.some((n, i) => n !== shape[i])) {
    throw invalidValue(call, `out has shape [${out.shape.join(', ')}] but the result has shape [${shape.join(', ')}]`);
  }
  checkCast(call, dtype, out.dtype);
}

type Kind = 'arith' | 'div' | 'compare' | 'float';

/** The dtype op `kind` computes into from operand dtype `common`. */
function outputType(kind: Kind, common: DType): DType {
  if (kind === 'compare') return 'bool';
  if ((kind === 'div' || kind === 'float') && DTYPES[common].category !== 'floating') return 'float32';
  return common;
}

interface BinaryPlan {
  shape: number[];
  /** The result's dtype. */
  dtype: DType;
  /** The dtype the operands meet in (a comparison computes in it, then answers bool). */
  common: DType;
}

/** A scalar operand as given (its kind decides promotion: `bool.add(true)` stays bool) and as the kernel takes it. */
type Other = Tensor | number | boolean | bigint;

function requireOther(call: string, v: unknown): Other {
  if (v instanceof Tensor) return v;
  requireScalar(call, 'other', v);
  return v as number | boolean | bigint;
}

/** The operand as the kernel takes it: a comparison sees a scalar cast to the common dtype, as PyTorch's does. */
const operandOf = (b: Other, kind: Kind, common: DType): Tensor | number => (b instanceof Tensor ? b : kind === 'compare' ? castScalar(common, Number(b)) : Number(b));

function planBinary(call: string, kind: Kind, a: Tensor, b: Other): BinaryPlan {
  const common = b instanceof Tensor ? resultType([a.dtype, b.dtype]) : resultType([a.dtype], [scalarKind(b)]);
  // PyTorch refuses subtraction with any bool operand (use logical_not() to invert a mask).
  if (call.startsWith('sub') && (a.dtype === 'bool' || (b instanceof Tensor ? b.dtype === 'bool' : typeof b === 'boolean'))) {
    throw invalidValue(call, 'subtraction with a bool tensor or scalar is not supported; use logical_not() to invert a mask');
  }
  const dtype = outputType(kind, common);
  if (call.startsWith('pow') && dtype === 'bool') throw invalidValue(call, 'pow is not implemented for bool tensors');
  return { shape: b instanceof Tensor ? broadcastShapes(call, a.shape, b.shape) : [...a.shape], dtype, common };
}

/** alpha as PyTorch's alpha_check takes it: bool only for bool results, integral for integral ones. */
function alphaOf(call: string, dtype: DType, alpha: unknown): number {
  const value = requireScalar(call, 'alpha', alpha === undefined ? 1 : alpha);
  if (alpha === undefined) return value;
  if (typeof alpha === 'boolean' && dtype !== 'bool') throw invalidValue(call, 'boolean alpha is only supported for boolean results', alpha);
  if (DTYPES[dtype].category !== 'floating' && !Number.isInteger(value)) {
    throw invalidValue(call, 'for integral input tensors, argument alpha must not be a floating point number', alpha);
  }
  // A bool result takes alpha as a bool (PyTorch casts it): True + (-1)·True stays True.
  return dtype === 'bool' ? Number(value !== 0) : value;
}

/** Defines name.Tensor, name.Scalar, name.out and (arith) name_.Tensor / name_.Scalar. */
function binaryFamily(name: string, op: BinaryOp, kind: Kind, withAlpha: boolean, inplace: boolean, tensorBackends?: readonly string[]): void {
  const alphaArg = withAlpha ? ', *, Scalar alpha=1' : '';
  const run = (call: string, ex: Executor, a: Tensor, b: Other, alpha: unknown, out?: Tensor): Tensor => {
    const plan = planBinary(call, kind, a, b);
    const scale = alphaOf(call, plan.dtype, alpha);
    if (out === undefined) out = ex.empty(plan.dtype, plan.shape);
    else checkOut(call, out, plan.shape, plan.dtype);
    launchBinary(call, ex, op, out, a, operandOf(b, kind, plan.common), scale);
    return out;
  };
  const tensorImpl: OpImpl = (ex, a: Tensor, b: unknown, alpha: unknown) => run(name, ex, requireTensor(name, 'self', a), requireTensor(name, 'other', b), alpha);
  const scalarImpl: OpImpl = (ex, a: Tensor, b: unknown, alpha: unknown) => run(name, ex, requireTensor(name, 'self', a), requireOther(name, b), alpha);
  const outImpl: OpImpl = (ex, a: Tensor, b: unknown, ...rest: unknown[]) => {
    const [alpha, out] = withAlpha ? rest : [undefined, rest[0]];
    return run(`${name}.out`, ex, requireTensor(name, 'self', a), requireOther(name, b), alpha, requireTensor(`${name}.out`, 'out', out));
  };
  defineBuiltin(`${name}.Tensor(Tensor self, Tensor other${alphaArg}) -> Tensor`, tensorImpl, tensorBackends);
  defineBuiltin(`${name}.Scalar(Tensor self, Scalar other${withAlpha ? ', Scalar alpha=1' : ''}) -> Tensor`, scalarImpl);
  defineBuiltin(`${name}.out(Tensor self, Tensor other${alphaArg}${withAlpha ? '' : ', *'}, Tensor(a!) out) -> Tensor(a!)`, outImpl);
  if (!inplace) return;
  const inplaceImpl: OpImpl = (ex, a: Tensor, b: unknown, alpha: unknown) => {
    const call = `${name}_`;
    const self = requireTensor(call, 'self', a);
    const other = requireOther(call, b);
    const plan = planBinary(call, kind, self, other);
    checkOut(call, self, broadcastShapes(call, self.shape, plan.shape), plan.dtype);
    launchBinary(call, ex, op, self, self, operandOf(other, kind, plan.common), alphaOf(call, self.dtype, alpha));
    return self;
  };
  defineBuiltin(`${name}_.Tensor(Tensor(a!) self, Tensor other${alphaArg}) -> Tensor(a!)`, inplaceImpl);
  defineBuiltin(`${name}_.Scalar(Tensor(a!) self, Scalar other${withAlpha ? ', Scalar alpha=1' : ''}) -> Tensor(a!)`, inplaceImpl);
}

binaryFamily('add', BinaryOp.add, 'arith', true, true);
// sub.Tensor has no openreg kernel: the backend binds it to the CPU fallback (per-op fallback).
binaryFamily('sub', BinaryOp.sub, 'arith', true, true, ['cpu', 'meta']);
binaryFamily('mul', BinaryOp.mul, 'arith', false, true);
binaryFamily('div', BinaryOp.div, 'div', false, true);
for (const [name, op] of [['eq', BinaryOp.eq], ['ne', BinaryOp.ne], ['lt', BinaryOp.lt], ['le', BinaryOp.le], ['gt', BinaryOp.gt], ['ge', BinaryOp.ge]] as const) {
  binaryFamily(name, op, 'compare', false, false);
}

/** maximum, minimum and pow: `scalarOther` for the forms whose schema takes a Scalar. */
const binaryTensor = (name: string, op: BinaryOp, kind: Kind, scalarOther = false): OpImpl => (ex, a: Tensor, b: unknown) => {
  const self = requireTensor(name, 'self', a);
  const other = scalarOther ? requireOther(name, b) : requireTensor(name, 'other', b);
  if (op === BinaryOp.pow && DTYPES[self.dtype].category !== 'floating' && !(other instanceof Tensor) && typeof other !== 'boolean' && Number(other) < 0 && Number.isInteger(Number(other))) {
    throw invalidValue(name, 'integers to negative integer powers are not allowed', other);
  }
  const plan = planBinary(name, kind, self, other);
  const out = ex.empty(plan.dtype, plan.shape);
  launchBinary(name, ex, op, out, self, operandOf(other, kind, plan.common));
  return out;
};

/** Ops with no openreg kernel: on openreg they run through the CPU fallback. */
export const FALLBACK_ONLY = ['cpu', 'meta'] as const;
defineBuiltin('maximum(Tensor self, Tensor other) -> Tensor', binaryTensor('maximum', BinaryOp.maximum, 'arith'), FALLBACK_ONLY);
defineBuiltin('minimum(Tensor self, Tensor other) -> Tensor', binaryTensor('minimum', BinaryOp.minimum, 'arith'), FALLBACK_ONLY);
defineBuiltin('pow.Tensor_Tensor(Tensor self, Tensor exponent) -> Tensor', binaryTensor('pow', BinaryOp.pow, 'arith'), FALLBACK_ONLY);
defineBuiltin('pow.Tensor_Scalar(Tensor self, Scalar exponent) -> Tensor', binaryTensor('pow', BinaryOp.pow, 'arith', true), FALLBACK_ONLY);
defineBuiltin('threshold_backward(Tensor grad_output, Tensor self, Scalar threshold) -> Tensor', (ex, g: Tensor, x: Tensor) => {
  const out = ex.empty(g.dtype, broadcastShapes('threshold_backward', g.shape, x.shape));
  launchBinary('threshold_backward', ex, BinaryOp.thresholdBackward, out, g, x);
  return out;
});

/** A unary op and its out= form; `float` ops give float32 for integer inputs. */
export function unaryOp(name: string, op: UnaryOp, kind: 'same' | 'float' | 'signed', backends?: readonly string[]): void {
  const typeOf = (call: string, t: Tensor): DType => {
    if (kind === 'signed' && t.dtype === 'bool') throw invalidValue(call, `${name} is not supported for bool tensors`);
    return kind === 'float' ? outputType('float', t.dtype) : t.dtype;
  };
  defineBuiltin(
    `${name}(Tensor self) -> Tensor`,
    (ex, a: unknown) => {
      const self = requireTensor(name, 'self', a);
      const out = ex.empty(typeOf(name, self), self.shape);
      launchUnary(name, ex, op, out, self);
      return out;
    },
    backends,
  );
  defineBuiltin(
    `${name}.out(Tensor self, *, Tensor(a!) out) -> Tensor(a!)`,
    (ex, a: unknown, o: unknown) => {
      const self = requireTensor(`${name}.out`, 'self', a);
      const out = requireTensor(`${name}.out`, 'out', o);
      checkOut(`${name}.out`, out, self.shape, typeOf(`${name}.out`, self));
      launchUnary(`${name}.out`, ex, op, out, self);
      return out;
    },
    backends,
  );
}

unaryOp('neg', UnaryOp.neg, 'signed');
unaryOp('exp', UnaryOp.exp, 'float');
// relu of bool is refused, as PyTorch's clamp_min is not implemented for Bool.
unaryOp('relu', UnaryOp.relu, 'signed');
unaryOp('log', UnaryOp.log, 'float', FALLBACK_ONLY);
unaryOp('sqrt', UnaryOp.sqrt, 'float', FALLBACK_ONLY);
unaryOp('tanh', UnaryOp.tanh, 'float', FALLBACK_ONLY);
unaryOp('sigmoid', UnaryOp.sigmoid, 'float', FALLBACK_ONLY);

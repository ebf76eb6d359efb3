import { invalidValue } from '../../errors/errors.js';
import type { DType } from '../../tensor/dtype.js';
import { Tensor, op as callOp } from '../../tensor/tensor.js';
import { defineBuiltin } from '../register.js';
import { type OpMethod, defineOp } from '../define-op.js';
import { BinaryOp, UnaryOp, launchBinary, launchUnary } from './launch.js';
import { type UnaryArgs, unaryOp, unaryResult } from './elementwise.js';

/**
 * The unary math PyTorch users reach for beyond the basics: special functions, rounding,
 * reciprocals, the smooth activations and the float predicates, each one defineOp.
 */

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
/** Rounding and sign are piecewise constant: their gradient is zero (PyTorch's zeros_like, not g·0, which keeps NaN). */
const zeroGradient = (g: Tensor): Tensor => callOp('backward', 'full', [g.shape, 0, g.dtype, g.device], g.device) as Tensor;

export const LOG1P = unaryOp('log1p', UnaryOp.log1p, 'float', { derivative: (g, a) => g.div(a.self.add(1)), saves: ['self'], autocast: 'float32', doc: 'log(1 + self), exact for small self' });
export const EXPM1 = unaryOp('expm1', UnaryOp.expm1, 'float', { derivative: (g, _a, y) => g.mul(y.add(1)), saves: ['result'], autocast: 'float32', doc: 'e^self − 1, exact for small self' });
export const ERF = unaryOp('erf', UnaryOp.erf, 'float', { derivative: (g, a) => g.mul(a.self.mul(a.self).neg().exp().mul(TWO_OVER_SQRT_PI)), saves: ['self'], doc: 'the error function' });
export const FLOOR = unaryOp('floor', UnaryOp.floor, 'signed', { inplace: true, derivative: zeroGradient, doc: 'the largest integer ≤ self (integers unchanged; bool refused)' });
export const CEIL = unaryOp('ceil', UnaryOp.ceil, 'signed', { inplace: true, derivative: zeroGradient, doc: 'the smallest integer ≥ self (integers unchanged; bool refused)' });
export const ROUND = unaryOp('round', UnaryOp.round, 'signed', { inplace: true, derivative: zeroGradient, doc: 'the nearest integer, ties to even (integers unchanged; bool refused)' });
export const TRUNC = unaryOp('trunc', UnaryOp.trunc, 'signed', { inplace: true, derivative: zeroGradient, doc: 'self rounded toward zero (integers unchanged; bool refused)' });
export const SIGN = unaryOp('sign', UnaryOp.sign, 'same', { inplace: true, derivative: zeroGradient, doc: '−1, 0 or 1 by the sign of self; NaN gives 0' });
export const RECIPROCAL = unaryOp('reciprocal', UnaryOp.reciprocal, 'float', { inplace: true, derivative: (g, _a, y) => g.mul(y.mul(y)).neg(), saves: ['result'], autocast: 'float32', doc: '1 / self' });
export const RSQRT = unaryOp('rsqrt', UnaryOp.rsqrt, 'float', { inplace: true, derivative: (g, _a, y) => g.mul(y.mul(y).mul(y)).mul(-0.5), saves: ['result'], autocast: 'float32', doc: '1 / √self' });
export const SILU = unaryOp('silu', UnaryOp.silu, 'floating', { derivative: (g, a) => callOp('silu backward', 'silu_backward', [g, a.self]) as Tensor, saves: ['self'], doc: 'self · sigmoid(self) (swish); floating dtypes only' });
export const ISNAN = unaryOp('isnan', UnaryOp.isnan, 'bool', { doc: 'true where self is NaN' });
export const ISFINITE = unaryOp('isfinite', UnaryOp.isfinite, 'bool', { doc: 'true where self is neither infinite nor NaN' });

const APPROXIMATIONS = ['none', 'tanh'] as const;

function requireApproximation(call: string, approximate: unknown): 'none' | 'tanh' {
  if (!APPROXIMATIONS.includes(approximate as 'none')) throw invalidValue(call, "approximate must be 'none' or 'tanh'", approximate);
  return approximate as 'none' | 'tanh';
}

interface GeluArgs extends UnaryArgs {
  readonly approximate: string;
}

export const GELU = defineOp<GeluArgs, { shape: readonly number[]; dtype: DType }>({
  schemas: ["gelu(Tensor self, *, str approximate='none') -> Tensor"],
  out: true,
  result: (call, { self, approximate }) => {
    requireApproximation(call, approximate);
    return unaryResult(call, 'gelu', 'floating', self);
  },
  kernel: (call, ex, out, { self, approximate }) => launchUnary(call, ex, approximate === 'tanh' ? UnaryOp.geluTanh : UnaryOp.gelu, out, self),
  derivatives: { self: (g, a) => callOp('gelu backward', 'gelu_backward', [g, a.self, a.approximate]) as Tensor },
  saves: ['self'],
  doc: "self · Φ(self), Φ the standard normal CDF; approximate='tanh' for the tanh form; floating dtypes only",
});

defineBuiltin("gelu_backward(Tensor grad_output, Tensor self, *, str approximate='none') -> Tensor", (ex, g: Tensor, x: Tensor, approximate: string) => {
  const out = ex.empty(g.dtype, g.shape);
  launchBinary('gelu_backward', ex, requireApproximation('gelu_backward', approximate) === 'tanh' ? BinaryOp.geluTanhBackward : BinaryOp.geluBackward, out, g, x);
  return out;
});

defineBuiltin('silu_backward(Tensor grad_output, Tensor self) -> Tensor', (ex, g: Tensor, x: Tensor) => {
  const out = ex.empty(g.dtype, g.shape);
  launchBinary('silu_backward', ex, BinaryOp.siluBackward, out, g, x);
  return out;
});

declare module '../../tensor/tensor.js' {
  interface Tensor {
    log1p: OpMethod<[]>;
    expm1: OpMethod<[]>;
    erf: OpMethod<[]>;
    floor: OpMethod<[]>;
    floor_: OpMethod<[]>;
    ceil: OpMethod<[]>;
    ceil_: OpMethod<[]>;
    round: OpMethod<[]>;
    round_: OpMethod<[]>;
    trunc: OpMethod<[]>;
    trunc_: OpMethod<[]>;
    sign: OpMethod<[]>;
    sign_: OpMethod<[]>;
    reciprocal: OpMethod<[]>;
    reciprocal_: OpMethod<[]>;
    rsqrt: OpMethod<[]>;
    rsqrt_: OpMethod<[]>;
    silu: OpMethod<[]>;
    gelu: OpMethod<[approximate?: 'none' | 'tanh']>;
    isnan: OpMethod<[]>;
    isfinite: OpMethod<[]>;
  }
}

import { invalidValue } from '../errors/errors.js';
import { requireFinite, requireOneOf, requireOptions } from '../errors/validate.js';
import { DTYPES } from '../tensor/dtype.js';
import { noGrad } from '../tensor/grad-mode.js';
import { Tensor } from '../tensor/tensor.js';
import { rand, randn } from '../ops/factories.js';

/**
 * PyTorch's `nn.init`: fills a tensor in place, without recording autograd, from the
 * generator of the tensor's device (so a seed reproduces a model on each device).
 */

function target(call: string, t: unknown): Tensor {
  if (!(t instanceof Tensor)) throw invalidValue(call, 'tensor must be a Tensor', t);
  if (DTYPES[t.dtype].category !== 'floating') throw invalidValue(call, `only floating tensors can be initialized, got ${t.dtype}`, t.toString());
  return t;
}

/** Random values in the tensor's shape and device: float32 or float64 from the generator, converted to half types. */
function draw(t: Tensor, normal: boolean): Tensor {
  const dtype = t.dtype === 'float64' ? 'float64' : 'float32';
  return (normal ? randn : rand)(t.shape, { device: t.device, dtype });
}

/** Uniform in [a, b). */
export function uniform_(tensor: Tensor, a = 0, b = 1): Tensor {
  const t = target('init.uniform_', tensor);
  const lo = requireFinite('init.uniform_', 'a', a);
  const hi = requireFinite('init.uniform_', 'b', b);
  if (hi < lo) throw invalidValue('init.uniform_', `b must be at least a (${lo})`, b);
  noGrad(() => t.copy_(draw(t, false).mul(hi - lo).add(lo)));
  return t;
}

/** Normal with mean and std. */
export function normal_(tensor: Tensor, mean = 0, std = 1): Tensor {
  const t = target('init.normal_', tensor);
  const m = requireFinite('init.normal_', 'mean', mean);
  const s = requireFinite('init.normal_', 'std', std, 0);
  noGrad(() => t.copy_(draw(t, true).mul(s).add(m)));
  return t;
}

export function constant_(tensor: Tensor, value: number): Tensor {
  const t = target('init.constant_', tensor);
  const v = requireFinite('init.constant_', 'value', value);
  noGrad(() => t.fill_(v));
  return t;
}

export const zeros_ = (tensor: Tensor): Tensor => constant_(tensor, 0);
export const ones_ = (tensor: Tensor): Tensor => constant_(tensor, 1);

/** fan_in and fan_out of a weight: [out, in, …kernel] as PyTorch's _calculate_fan_in_and_fan_out. */
function fans(call: string, t: Tensor): { fanIn: number; fanOut: number } {
  if (t.ndim < 2) throw invalidValue(call, 'fan in and fan out can not be computed for a tensor with fewer than 2 dimensions', t.toString());
  const receptive = t.shape.slice(2).reduce((p, n) => p * n, 1);
  return { fanIn: t.shape[1]! * receptive, fanOut: t.shape[0]! * receptive };
}

type Nonlinearity = 'linear' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu';
const NONLINEARITIES: readonly Nonlinearity[] = ['linear', 'sigmoid', 'tanh', 'relu', 'leaky_relu'];

/** PyTorch's calculate_gain. */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  requireOneOf('init.calculateGain', 'nonlinearity', nonlinearity, NONLINEARITIES);
  switch (nonlinearity) {
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu': {
      const slope = param === undefined ? 0.01 : requireFinite('init.calculateGain', 'param', param);
      return Math.sqrt(2 / (1 + slope * slope));
    }
    default:
      return 1;
  }
}

/** He uniform: U(−bound, bound) with bound = gain · √(3 / fan), PyTorch's defaults (a = 0, fan_in, leaky_relu). */
export function kaimingUniform_(tensor: Tensor, options?: { a?: number; mode?: 'fanIn' | 'fanOut'; nonlinearity?: Nonlinearity }): Tensor {
  const call = 'init.kaimingUniform_';
  const t = target(call, tensor);
  const o = requireOptions<{ a: number; mode: 'fanIn' | 'fanOut'; nonlinearity: Nonlinearity }>(call, options, 'options', ['a', 'mode', 'nonlinearity']);
  const a = o.a === undefined ? 0 : requireFinite(call, 'options.a', o.a);
  const mode = o.mode === undefined ? 'fanIn' : requireOneOf(call, 'options.mode', o.mode, ['fanIn', 'fanOut'] as const);
  const { fanIn, fanOut } = fans(call, t);
  const fan = mode === 'fanIn' ? fanIn : fanOut;
  const bound = fan === 0 ? 0 : calculateGain(o.nonlinearity ?? 'leaky_relu', a) * Math.sqrt(3 / fan);
  return uniform_(t, -bound, bound);
}

/** Glorot uniform: U(−bound, bound) with bound = gain · √(6 / (fan_in + fan_out)). */
export function xavierUniform_(tensor: Tensor, gain = 1): Tensor {
  const t = target('init.xavierUniform_', tensor);
  const { fanIn, fanOut } = fans('init.xavierUniform_', t);
  const bound = requireFinite('init.xavierUniform_', 'gain', gain) * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -bound, bound);
}

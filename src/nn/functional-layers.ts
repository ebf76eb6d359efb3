import { invalidValue } from '../errors/errors.js';
import { requireBoolean, requireFinite, requireInteger } from '../errors/validate.js';
import { noGrad } from '../tensor/grad-mode.js';
import { Tensor } from '../tensor/tensor.js';
import { arange, rand } from '../ops/factories.js';
import { where } from '../ops/builtin/selection.js';

/** The layers' computations as functions (PyTorch's torch.nn.functional), composed of ops, so autograd differentiates them. */

export function requireTensor(call: string, name: string, value: unknown): Tensor {
  if (!(value instanceof Tensor)) throw invalidValue(call, `${name} must be a Tensor`, value);
  return value;
}

/** x · weightᵀ + bias: weight is [out, in], x is [..., in]. */
export function linear(input: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  const x = requireTensor('linear', 'input', input);
  const w = requireTensor('linear', 'weight', weight);
  if (w.ndim !== 2) throw invalidValue('linear', `weight must be 2-D [out, in], got shape [${w.shape.join(', ')}]`);
  const y = x.matmul(w.t());
  return bias === undefined ? y : y.add(requireTensor('linear', 'bias', bias));
}

/**
 * Zeroes each element with probability p (from the device's generator) and scales the rest by
 * 1/(1 − p); the identity when not training or p = 0.
 */
export function dropout(input: Tensor, p = 0.5, training = true): Tensor {
  const x = requireTensor('dropout', 'input', input);
  const prob = requireFinite('dropout', 'p', p, 0);
  if (prob > 1) throw invalidValue('dropout', 'p must be a probability in [0, 1]', p);
  if (!requireBoolean('dropout', 'training', training) || prob === 0) return x;
  if (prob === 1) return x.mul(0);
  const keep = rand(x.shape, { device: x.device, dtype: x.dtype === 'float64' ? 'float64' : 'float32' }).ge(prob);
  return x.mul(keep).div(1 - prob);
}

/** The dimensions a normalization averages over: the last `count` of x. */
function lastDims(x: Tensor, count: number): number[] {
  return Array.from({ length: count }, (_, i) => x.ndim - count + i);
}

/** Normalizes over the trailing `normalizedShape` dimensions, then scales and shifts elementwise (PyTorch's layer_norm). */
export function layerNorm(input: Tensor, normalizedShape: readonly number[], weight?: Tensor, bias?: Tensor, eps = 1e-5): Tensor {
  const x = requireTensor('layerNorm', 'input', input);
  if (!Array.isArray(normalizedShape) || normalizedShape.length === 0) throw invalidValue('layerNorm', 'normalizedShape must be a non-empty array of sizes', normalizedShape);
  const tail = x.shape.slice(x.ndim - normalizedShape.length);
  if (x.ndim < normalizedShape.length || tail.join() !== normalizedShape.join()) {
    throw invalidValue('layerNorm', `input of shape [${x.shape.join(', ')}] does not end in normalizedShape [${normalizedShape.join(', ')}]`);
  }
  const e = requireFinite('layerNorm', 'eps', eps, 0);
  const dims = lastDims(x, normalizedShape.length);
  const centered = x.sub(x.mean(dims, true));
  let y = centered.mul(centered.mul(centered).mean(dims, true).add(e).rsqrt());
  if (weight !== undefined) y = y.mul(requireTensor('layerNorm', 'weight', weight));
  if (bias !== undefined) y = y.add(requireTensor('layerNorm', 'bias', bias));
  return y;
}

/**
 * Batch normalization over channel dimension 1 (PyTorch's batch_norm): in training, the
 * batch's statistics, and the running ones (when given) updated with `momentum` (the
 * variance unbiased); in evaluation, the running statistics.
 */
export function batchNorm(input: Tensor, runningMean: Tensor | undefined, runningVar: Tensor | undefined, weight: Tensor | undefined, bias: Tensor | undefined, training: boolean, momentum = 0.1, eps = 1e-5): Tensor {
  const call = 'batchNorm';
  const x = requireTensor(call, 'input', input);
  if (x.ndim < 2) throw invalidValue(call, `expected an input of at least 2 dimensions [N, C, …], got shape [${x.shape.join(', ')}]`);
  const m = requireFinite(call, 'momentum', momentum, 0);
  const e = requireFinite(call, 'eps', eps, 0);
  const channels = x.shape[1]!;
  const perChannel = [1, channels, ...x.shape.slice(2).map(() => 1)];
  const dims = x.shape.map((_, i) => i).filter((i) => i !== 1);
  let mean: Tensor;
  let variance: Tensor;
  if (requireBoolean(call, 'training', training)) {
    const count = x.numel() / channels;
    if (count <= 1) throw invalidValue(call, `expected more than 1 value per channel when training, got input shape [${x.shape.join(', ')}]`);
    mean = x.mean(dims, true);
    const centered = x.sub(mean);
    variance = centered.mul(centered).mean(dims, true);
    if (runningMean !== undefined && runningVar !== undefined) {
      const [rm, rv] = [requireTensor(call, 'runningMean', runningMean), requireTensor(call, 'runningVar', runningVar)];
      noGrad(() => {
        rm.mul_(1 - m).add_(mean.detach().reshape(channels), m);
        rv.mul_(1 - m).add_(variance.detach().mul(count / (count - 1)).reshape(channels), m);
      });
    }
  } else {
    if (runningMean === undefined || runningVar === undefined) throw invalidValue(call, 'evaluation needs runningMean and runningVar');
    mean = requireTensor(call, 'runningMean', runningMean).reshape(...perChannel);
    variance = requireTensor(call, 'runningVar', runningVar).reshape(...perChannel);
  }
  let y = x.sub(mean).mul(variance.add(e).rsqrt());
  if (weight !== undefined) y = y.mul(requireTensor(call, 'weight', weight).reshape(...perChannel));
  if (bias !== undefined) y = y.add(requireTensor(call, 'bias', bias).reshape(...perChannel));
  return y;
}

/** Rows of `weight` picked by integer `input`: [...input.shape, embeddingDim]; the row at paddingIdx gets no gradient. */
export function embedding(input: Tensor, weight: Tensor, paddingIdx?: number): Tensor {
  const call = 'embedding';
  const idx = requireTensor(call, 'input', input);
  const w = requireTensor(call, 'weight', weight);
  if (idx.dtype !== 'int64' && idx.dtype !== 'int32') throw invalidValue(call, `expected input to be int64 or int32 indices, got ${idx.dtype}`);
  if (w.ndim !== 2) throw invalidValue(call, `weight must be 2-D [num, dim], got shape [${w.shape.join(', ')}]`);
  const rows = w.indexSelect(0, idx.reshape(-1)).reshape(...idx.shape, w.shape[1]!);
  if (paddingIdx === undefined) return rows;
  // The padding row's value as it is, without a gradient (PyTorch's padding_idx).
  return where(idx.ne(paddingIdx).unsqueeze(-1), rows, rows.detach());
}

/**
 * Class indices (int64) as one-hot rows: [...input.shape, numClasses] of int64. Rows of the
 * identity are gathered by index, so an index out of range fails in the kernel as gather's
 * does. numClasses must be given: inferring it would read the values back synchronously.
 */
export function oneHot(input: Tensor, numClasses: number): Tensor {
  const call = 'oneHot';
  const idx = requireTensor(call, 'input', input);
  if (idx.dtype !== 'int64') throw invalidValue(call, `one_hot is only applicable to index tensors (int64), got ${idx.dtype}`);
  const classes = requireInteger(call, 'numClasses', numClasses, 1);
  const range = arange(0, classes, 1, { dtype: 'int64', device: idx.device });
  const identity = range.unsqueeze(1).eq(range).to('int64');
  return identity.indexSelect(0, idx.reshape(-1)).reshape(...idx.shape, classes);
}

export { where };

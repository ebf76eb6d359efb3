import { invalidValue } from '../errors/errors.js';
import { requireFinite, requireInteger, requireOneOf, requireOptions } from '../errors/validate.js';
import { DTYPES } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { where } from '../ops/builtin/selection.js';
import { requireTensor } from './functional-layers.js';

/** The losses of torch.nn.functional, composed of ops: autograd gives their gradients. */

export type Reduction = 'mean' | 'sum' | 'none';
const REDUCTIONS: readonly Reduction[] = ['mean', 'sum', 'none'];

function reduce(loss: Tensor, reduction: Reduction): Tensor {
  return reduction === 'none' ? loss : reduction === 'sum' ? loss.sum() : loss.mean();
}

function reductionOf(call: string, value: unknown): Reduction {
  return value === undefined ? 'mean' : requireOneOf(call, 'options.reduction', value, REDUCTIONS);
}

/** input and target as a loss takes them: tensors of one shape (PyTorch warns and broadcasts; a mismatch is almost always a bug). */
function pair(call: string, input: unknown, target: unknown): [Tensor, Tensor] {
  const x = requireTensor(call, 'input', input);
  const t = requireTensor(call, 'target', target);
  if (x.shape.join() !== t.shape.join()) throw invalidValue(call, `target shape [${t.shape.join(', ')}] must be the input's [${x.shape.join(', ')}]`);
  return [x, t];
}

export interface LossOptions {
  reduction?: Reduction;
}

/** Mean squared error. */
export function mseLoss(input: Tensor, target: Tensor, options?: LossOptions): Tensor {
  const o = requireOptions<LossOptions>('mseLoss', options, 'options', ['reduction']);
  const [x, t] = pair('mseLoss', input, target);
  const d = x.sub(t);
  return reduce(d.mul(d), reductionOf('mseLoss', o.reduction));
}

/** Mean absolute error. */
export function l1Loss(input: Tensor, target: Tensor, options?: LossOptions): Tensor {
  const o = requireOptions<LossOptions>('l1Loss', options, 'options', ['reduction']);
  const [x, t] = pair('l1Loss', input, target);
  return reduce(x.sub(t).abs(), reductionOf('l1Loss', o.reduction));
}

export interface NllLossOptions extends LossOptions {
  /** A weight per class (1-D, C elements). */
  weight?: Tensor;
  /** Targets equal to it add nothing, to the loss or to the mean's denominator. @default -100 */
  ignoreIndex?: number;
}

interface ClassTargets {
  /** Where the target is a class (not ignoreIndex). */
  readonly valid: Tensor;
  /** The target with ignored entries as class 0, safe to gather with. */
  readonly safe: Tensor;
  /** Each target's weight (0 where ignored), in the input's dtype. */
  readonly weights: Tensor;
}

/** Class-index targets checked against the input ([N, C, …] or [C]) and resolved to weights. */
function classTargets(call: string, input: Tensor, target: Tensor, weight: Tensor | undefined, ignoreIndex: number): ClassTargets {
  if (target.dtype !== 'int64') throw invalidValue(call, `expected class indices of dtype int64, got ${target.dtype}`);
  const expected = input.ndim === 1 ? [] : [input.shape[0]!, ...input.shape.slice(2)];
  if (target.shape.join() !== expected.join()) throw invalidValue(call, `target shape [${target.shape.join(', ')}] does not fit input shape [${input.shape.join(', ')}] (expected [${expected.join(', ')}])`);
  const classes = input.shape[input.ndim === 1 ? 0 : 1]!;
  const valid = target.ne(ignoreIndex);
  const safe = where(valid, target, 0);
  let weights = valid.to(input.dtype);
  if (weight !== undefined) {
    const w = requireTensor(call, 'options.weight', weight);
    if (w.ndim !== 1 || w.shape[0] !== classes) throw invalidValue(call, `weight must be 1-D with one value per class (${classes}), got shape [${w.shape.join(', ')}]`);
    weights = weights.mul(w.gather(0, safe.reshape(-1)).reshape(...target.shape));
  }
  return { valid, safe, weights };
}

function nllOptions(call: string, options: unknown, known: readonly string[]) {
  const o = requireOptions<NllLossOptions>(call, options, 'options', known);
  return {
    reduction: reductionOf(call, o.reduction),
    weight: o.weight,
    ignoreIndex: o.ignoreIndex === undefined ? -100 : requireInteger(call, 'options.ignoreIndex', o.ignoreIndex, Number.MIN_SAFE_INTEGER),
  };
}

function logProbabilities(call: string, input: unknown): Tensor {
  const x = requireTensor(call, 'input', input);
  if (DTYPES[x.dtype].category !== 'floating') throw invalidValue(call, `expected floating input, got ${x.dtype}`);
  if (x.ndim === 0) throw invalidValue(call, 'input must have a class dimension (got a 0-dim tensor)');
  return x;
}

/** The negative log-likelihood of class-index targets, from log-probabilities [N, C, …] (or [C] with a 0-dim target). */
export function nllLoss(input: Tensor, target: Tensor, options?: NllLossOptions): Tensor {
  const call = 'nllLoss';
  const o = nllOptions(call, options, ['reduction', 'weight', 'ignoreIndex']);
  const x = logProbabilities(call, input);
  const t = requireTensor(call, 'target', target);
  return negativeLogLikelihood(x, classTargets(call, x, t, o.weight, o.ignoreIndex), o.reduction);
}

/** nllLoss of log-probabilities x for targets already checked and resolved (crossEntropy resolves them once for both its terms). */
function negativeLogLikelihood(x: Tensor, { valid, safe, weights }: ClassTargets, reduction: Reduction): Tensor {
  const classDim = x.ndim === 1 ? 0 : 1;
  const picked = x.gather(classDim, safe.unsqueeze(classDim)).squeeze(classDim);
  // where, not a multiply by 0: ignored targets get a gradient of exactly 0 even when every target is ignored (0/0).
  const losses = where(valid, picked.neg().mul(weights), 0);
  if (reduction === 'none') return losses;
  if (reduction === 'sum') return losses.sum();
  // The weighted mean: over the targets' weights, so ignored ones do not count (all ignored: 0/0 = NaN, as PyTorch).
  return losses.sum().div(weights.sum());
}

export interface CrossEntropyOptions extends NllLossOptions {
  /** Mixes the target with the uniform distribution: (1 − ε)·target + ε/C. @default 0 */
  labelSmoothing?: number;
}

/**
 * Cross-entropy of logits [N, C, …] (or [C]) against class indices (int64, [N, …]) or
 * class probabilities (floating, the input's shape), with PyTorch's weight, ignoreIndex,
 * labelSmoothing and reductions.
 */
export function crossEntropy(input: Tensor, target: Tensor, options?: CrossEntropyOptions): Tensor {
  const call = 'crossEntropy';
  const o = nllOptions(call, options, ['reduction', 'weight', 'ignoreIndex', 'labelSmoothing']);
  const smoothing = (options as CrossEntropyOptions | undefined)?.labelSmoothing;
  const eps = smoothing === undefined ? 0 : requireFinite(call, 'options.labelSmoothing', smoothing, 0);
  if (eps > 1) throw invalidValue(call, 'options.labelSmoothing must be in [0, 1]', smoothing);
  const x = logProbabilities(call, input);
  const t = requireTensor(call, 'target', target);
  const classDim = x.ndim === 1 ? 0 : 1;
  const classes = x.shape[classDim]!;
  const logp = x.logSoftmax(classDim);
  const perClass = o.weight === undefined ? undefined : requireTensor(call, 'options.weight', o.weight).reshape(...x.shape.map((n, i) => (i === classDim ? n : 1)));
  if (DTYPES[t.dtype].category === 'floating') {
    if (t.shape.join() !== x.shape.join()) throw invalidValue(call, `probability targets must have the input's shape [${x.shape.join(', ')}], got [${t.shape.join(', ')}]`);
    const smoothed = eps > 0 ? t.mul(1 - eps).add(eps / classes) : t;
    let terms = logp.mul(smoothed);
    if (perClass !== undefined) terms = terms.mul(perClass);
    const losses = terms.sum(classDim).neg();
    if (o.reduction === 'none') return losses;
    return o.reduction === 'sum' ? losses.sum() : losses.sum().div(x.numel() / classes);
  }
  const targets = classTargets(call, x, t, o.weight, o.ignoreIndex);
  const nll = negativeLogLikelihood(logp, targets, o.reduction);
  if (eps === 0) return nll;
  const { valid, weights } = targets;
  const smooth = where(valid, (perClass === undefined ? logp : logp.mul(perClass)).sum(classDim).neg(), 0);
  const reduced = o.reduction === 'none' ? smooth : o.reduction === 'sum' ? smooth.sum() : smooth.sum().div(weights.sum());
  return nll.mul(1 - eps).add(reduced.mul(eps / classes));
}

export interface BceWithLogitsOptions extends LossOptions {
  /** Rescales each element's loss (broadcast to the input). */
  weight?: Tensor;
  /** Weight of the positive class, per class (broadcast along the last dimension). */
  posWeight?: Tensor;
}

/** Binary cross-entropy of logits against targets in [0, 1], in PyTorch's stable form. */
export function binaryCrossEntropyWithLogits(input: Tensor, target: Tensor, options?: BceWithLogitsOptions): Tensor {
  const call = 'binaryCrossEntropyWithLogits';
  const o = requireOptions<BceWithLogitsOptions>(call, options, 'options', ['reduction', 'weight', 'posWeight']);
  const [x, t] = pair(call, input, target);
  // log(1 + e^−x) computed as m + log(e^−m + e^(−x−m)) with m = max(−x, 0): no overflow either way.
  const m = x.neg().clamp(0);
  const softplus = m.neg().exp().add(x.neg().sub(m).exp()).log().add(m);
  const logWeight = o.posWeight === undefined ? undefined : requireTensor(call, 'options.posWeight', o.posWeight).sub(1).mul(t).add(1);
  let loss = t.neg().add(1).mul(x).add(logWeight === undefined ? softplus : logWeight.mul(softplus));
  if (o.weight !== undefined) loss = loss.mul(requireTensor(call, 'options.weight', o.weight));
  return reduce(loss, reductionOf(call, o.reduction));
}

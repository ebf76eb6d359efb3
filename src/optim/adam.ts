import { invalidValue } from '../errors/errors.js';
import { requireBoolean, requireFinite, requireOptions } from '../errors/validate.js';
import type { Tensor } from '../tensor/tensor.js';
import { zerosLike } from '../ops/factories.js';
import { Optimizer, type ParamState, type ParamsArgument } from './optimizer.js';

export type AdamOptions = {
  lr: number;
  betas: readonly [number, number];
  eps: number;
  weightDecay: number;
  amsgrad: boolean;
  maximize: boolean;
};

const ADAM_OPTIONS = ['lr', 'betas', 'eps', 'weightDecay', 'amsgrad', 'maximize'];

function checkAdam(call: string, o: AdamOptions): AdamOptions {
  requireOptions(call, o, 'options', [...ADAM_OPTIONS, 'params']);
  const betas = o.betas;
  if (!Array.isArray(betas) || betas.length !== 2 || !betas.every((b) => typeof b === 'number' && b >= 0 && b < 1)) {
    throw invalidValue(call, 'betas must be two numbers in [0, 1)', betas);
  }
  return {
    lr: requireFinite(call, 'lr', o.lr, 0),
    betas: [betas[0], betas[1]] as const,
    eps: requireFinite(call, 'eps', o.eps, 0),
    weightDecay: requireFinite(call, 'weightDecay', o.weightDecay, 0),
    amsgrad: requireBoolean(call, 'amsgrad', o.amsgrad),
    maximize: requireBoolean(call, 'maximize', o.maximize),
  };
}

/**
 * Adam, step for step as PyTorch's single-tensor implementation: moments updated in place,
 * bias-corrected step size, optional AMSGrad. `decoupled` makes it AdamW (weight decay
 * multiplies the parameter instead of joining the gradient).
 */
abstract class AdamBase extends Optimizer<AdamOptions> {
  readonly #decoupled: boolean;

  protected constructor(name: string, params: ParamsArgument<AdamOptions>, options: Partial<AdamOptions> | undefined, weightDecay: number, decoupled: boolean) {
    const o = requireOptions<AdamOptions>(name, options, 'options', ADAM_OPTIONS);
    super(name, params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay, amsgrad: false, maximize: false, ...o }, checkAdam);
    this.#decoupled = decoupled;
  }

  protected update(p: Tensor, grad: Tensor, state: ParamState, o: AdamOptions): void {
    const [beta1, beta2] = o.betas;
    let g = o.maximize ? grad.neg() : grad;
    if (state['step'] === undefined) {
      state['step'] = 0;
      state['expAvg'] = zerosLike(p);
      state['expAvgSq'] = zerosLike(p);
      if (o.amsgrad) state['maxExpAvgSq'] = zerosLike(p);
    }
    const step = (state['step'] as number) + 1;
    state['step'] = step;
    if (o.weightDecay !== 0) {
      if (this.#decoupled) p.mul_(1 - o.lr * o.weightDecay);
      else g = g.add(p, o.weightDecay);
    }
    const expAvg = state['expAvg'] as Tensor;
    const expAvgSq = state['expAvgSq'] as Tensor;
    expAvg.mul_(beta1).add_(g, 1 - beta1);
    expAvgSq.mul_(beta2).add_(g.mul(g), 1 - beta2);
    const stepSize = o.lr / (1 - beta1 ** step);
    const correction2 = Math.sqrt(1 - beta2 ** step);
    let second = expAvgSq;
    if (o.amsgrad) {
      const max = state['maxExpAvgSq'] as Tensor;
      max.copy_(max.maximum(expAvgSq));
      second = max;
    }
    const denom = second.sqrt().div(correction2).add(o.eps);
    p.sub_(expAvg.div(denom), stepSize);
  }
}

export class Adam extends AdamBase {
  constructor(params: ParamsArgument<AdamOptions>, options?: Partial<AdamOptions>) {
    super('Adam', params, options, 0, false);
  }
}

/** Adam with decoupled weight decay (default 0.01). */
export class AdamW extends AdamBase {
  constructor(params: ParamsArgument<AdamOptions>, options?: Partial<AdamOptions>) {
    super('AdamW', params, options, 0.01, true);
  }
}

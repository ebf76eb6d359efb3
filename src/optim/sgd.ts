import { invalidValue } from '../errors/errors.js';
import { requireBoolean, requireFinite, requireOptions } from '../errors/validate.js';
import type { Tensor } from '../tensor/tensor.js';
import { Optimizer, type ParamState, type ParamsArgument } from './optimizer.js';

export type SgdOptions = {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
  maximize: boolean;
};

const SGD_OPTIONS = ['lr', 'momentum', 'dampening', 'weightDecay', 'nesterov', 'maximize'];

function checkSgd(call: string, o: SgdOptions): SgdOptions {
  requireOptions(call, o, 'options', [...SGD_OPTIONS, 'params']);
  const checked: SgdOptions = {
    lr: requireFinite(call, 'lr', o.lr, 0),
    momentum: requireFinite(call, 'momentum', o.momentum, 0),
    dampening: requireFinite(call, 'dampening', o.dampening),
    weightDecay: requireFinite(call, 'weightDecay', o.weightDecay, 0),
    nesterov: requireBoolean(call, 'nesterov', o.nesterov),
    maximize: requireBoolean(call, 'maximize', o.maximize),
  };
  if (checked.nesterov && (checked.momentum <= 0 || checked.dampening !== 0)) throw invalidValue(call, 'nesterov momentum requires a momentum and zero dampening');
  return checked;
}

/**
 * Stochastic gradient descent with PyTorch's momentum (the first step's buffer is the
 * gradient itself), dampening, Nesterov momentum, weight decay and maximize.
 */
export class SGD extends Optimizer<SgdOptions> {
  constructor(params: ParamsArgument<SgdOptions>, options: Partial<SgdOptions> & { lr: number }) {
    const o = requireOptions<SgdOptions>('SGD', options, 'options', SGD_OPTIONS);
    if (o.lr === undefined) throw invalidValue('SGD', 'options.lr is required');
    super('SGD', params, { lr: o.lr, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false, ...o }, checkSgd);
  }

  protected update(p: Tensor, grad: Tensor, state: ParamState, o: SgdOptions): void {
    let g = o.maximize ? grad.neg() : grad;
    if (o.weightDecay !== 0) g = g.add(p, o.weightDecay);
    if (o.momentum !== 0) {
      let buf = state['momentumBuffer'] as Tensor | undefined;
      if (buf === undefined) state['momentumBuffer'] = buf = g.clone();
      else buf.mul_(o.momentum).add_(g, 1 - o.dampening);
      g = o.nesterov ? g.add(buf, o.momentum) : buf;
    }
    p.sub_(g, o.lr);
  }
}

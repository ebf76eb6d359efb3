import type { Tensor } from '../tensor/tensor.js';
import { Module } from './module.js';
import { type BceWithLogitsOptions, type CrossEntropyOptions, type LossOptions, type NllLossOptions, binaryCrossEntropyWithLogits, crossEntropy, l1Loss, mseLoss, nllLoss } from './losses.js';

/** The losses as modules (`new nn.CrossEntropyLoss({ labelSmoothing: 0.1 }).call(logits, target)`), options fixed at construction. */
abstract class Loss<O> extends Module {
  readonly options: O | undefined;
  constructor(options?: O) {
    super();
    this.options = options;
  }
  abstract override forward(input: Tensor, target: Tensor): Tensor;
}

export class CrossEntropyLoss extends Loss<CrossEntropyOptions> {
  forward(input: Tensor, target: Tensor): Tensor {
    return crossEntropy(input, target, this.options);
  }
}

export class NLLLoss extends Loss<NllLossOptions> {
  forward(input: Tensor, target: Tensor): Tensor {
    return nllLoss(input, target, this.options);
  }
}

export class MSELoss extends Loss<LossOptions> {
  forward(input: Tensor, target: Tensor): Tensor {
    return mseLoss(input, target, this.options);
  }
}

export class L1Loss extends Loss<LossOptions> {
  forward(input: Tensor, target: Tensor): Tensor {
    return l1Loss(input, target, this.options);
  }
}

export class BCEWithLogitsLoss extends Loss<BceWithLogitsOptions> {
  forward(input: Tensor, target: Tensor): Tensor {
    return binaryCrossEntropyWithLogits(input, target, this.options);
  }
}

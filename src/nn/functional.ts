// torch.nn.functional: the layers' and losses' computations as functions.
export { linear, dropout, layerNorm, batchNorm, embedding, oneHot } from './functional-layers.js';
export { conv2d, maxPool2d, avgPool2d } from './functional-conv.js';
export type { Conv2dOptions, Pool2dOptions, Pair } from './functional-conv.js';
export { mseLoss, l1Loss, nllLoss, crossEntropy, binaryCrossEntropyWithLogits } from './losses.js';
export type { Reduction, LossOptions, NllLossOptions, CrossEntropyOptions, BceWithLogitsOptions } from './losses.js';

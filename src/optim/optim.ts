// torch.optim: optimizers and learning-rate schedulers.
export { Optimizer } from './optimizer.js';
export type { ParamGroup, ParamState, ParamsArgument, OptimizerStateDict, Hyperparameters } from './optimizer.js';
export { SGD } from './sgd.js';
export type { SgdOptions } from './sgd.js';
export { Adam, AdamW } from './adam.js';
export type { AdamOptions } from './adam.js';
export * as lrScheduler from './lr-scheduler.js';

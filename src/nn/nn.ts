// torch.nn: modules, parameters, initialization and the functional forms.
export { Module } from './module.js';
export type { ForwardHook, ForwardPreHook, RemovableHandle, LoadStateDictResult } from './module.js';
export { Parameter, isParameter } from './parameter.js';
export { Linear, Conv2d, MaxPool2d, AvgPool2d, Embedding, LayerNorm, BatchNorm1d, BatchNorm2d, Dropout, Flatten, ReLU, Tanh, Sigmoid, SiLU, GELU, Identity, Softmax, LogSoftmax } from './layers.js';
export type { FactoryOptions } from './layers.js';
export { Sequential, ModuleList } from './containers.js';
export { CrossEntropyLoss, NLLLoss, MSELoss, L1Loss, BCEWithLogitsLoss } from './loss-modules.js';
export { DistributedDataParallel } from './distributed-data-parallel.js';
export type { DdpOptions } from './distributed-data-parallel.js';
export * as functional from './functional.js';
export * as init from './init.js';

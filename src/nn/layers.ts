import { invalidValue } from '../errors/errors.js';
import { requireBoolean, requireFinite, requireInteger, requireOneOf, requireOptions } from '../errors/validate.js';
import type { DeviceLike } from '../tensor/device.js';
import type { DType } from '../tensor/dtype.js';
import { noGrad } from '../tensor/grad-mode.js';
import type { Tensor } from '../tensor/tensor.js';
import { empty, ones, zeros } from '../ops/factories.js';
import { Module } from './module.js';
import { Parameter } from './parameter.js';
import { kaimingUniform_, normal_, uniform_ } from './init.js';
import { batchNorm, dropout, embedding, layerNorm, linear } from './functional-layers.js';
import { type Conv2dOptions, type Pair, type Pool2dOptions, avgPool2d, conv2d, maxPool2d } from './functional-conv.js';

/** The layers with parameters, and the parameter-free ones PyTorch users stack in a Sequential. */

export interface FactoryOptions {
  device?: DeviceLike;
  dtype?: DType;
}

function factory(call: string, options: unknown, more: readonly string[] = []): FactoryOptions & Record<string, unknown> {
  return requireOptions<FactoryOptions & Record<string, unknown>>(call, options, 'options', ['device', 'dtype', ...more]);
}

/** A number as Python's repr writes it, for PyTorch's module reprs: 1e-05, 0.1, 1.0. */
function pythonFloat(x: number): string {
  if (Number.isInteger(x)) return x.toFixed(1);
  if (Math.abs(x) < 1e-4) return x.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  return String(x);
}

const place = (o: FactoryOptions) => ({ ...(o.device === undefined ? {} : { device: o.device }), ...(o.dtype === undefined ? {} : { dtype: o.dtype }) });

/** y = x·Wᵀ + b, W [out, in] and b [out] initialized as PyTorch does: U(−1/√in, 1/√in) from the device's generator. */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  weight: Tensor;
  bias: Tensor | undefined;

  constructor(inFeatures: number, outFeatures: number, options?: FactoryOptions & { bias?: boolean }) {
    super();
    const o = factory('Linear', options, ['bias']);
    this.inFeatures = requireInteger('Linear', 'inFeatures', inFeatures, 0);
    this.outFeatures = requireInteger('Linear', 'outFeatures', outFeatures, 0);
    const withBias = o.bias === undefined ? true : requireBoolean('Linear', 'options.bias', o.bias);
    this.weight = Parameter(empty([outFeatures, inFeatures], place(o)));
    this.bias = withBias ? Parameter(empty([outFeatures], place(o))) : undefined;
    this.resetParameters();
  }

  /** PyTorch's reset_parameters: kaiming-uniform with a = √5 (bound 1/√in) for the weight, U(±1/√in) for the bias. */
  resetParameters(): void {
    kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias !== undefined) {
      const bound = this.inFeatures > 0 ? 1 / Math.sqrt(this.inFeatures) : 0;
      uniform_(this.bias, -bound, bound);
    }
  }

  forward(input: Tensor): Tensor {
    return linear(input, this.weight, this.bias);
  }

  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias === undefined ? 'False' : 'True'}`;
  }
}

/** Rows of a [num, dim] table picked by integer indices; weight N(0, 1), the padding row zero. */
export class Embedding extends Module {
  readonly numEmbeddings: number;
  readonly embeddingDim: number;
  readonly paddingIdx: number | undefined;
  weight: Tensor;

  constructor(numEmbeddings: number, embeddingDim: number, options?: FactoryOptions & { paddingIdx?: number }) {
    super();
    const o = factory('Embedding', options, ['paddingIdx']);
    this.numEmbeddings = requireInteger('Embedding', 'numEmbeddings', numEmbeddings, 1);
    this.embeddingDim = requireInteger('Embedding', 'embeddingDim', embeddingDim, 1);
    const pad = o.paddingIdx === undefined ? undefined : requireInteger('Embedding', 'options.paddingIdx', o.paddingIdx, -numEmbeddings, numEmbeddings - 1);
    this.paddingIdx = pad === undefined || pad >= 0 ? pad : pad + numEmbeddings;
    this.weight = Parameter(empty([numEmbeddings, embeddingDim], place(o)));
    normal_(this.weight);
    if (this.paddingIdx !== undefined) {
      const row = this.paddingIdx;
      noGrad(() => this.weight.select(0, row).fill_(0));
    }
  }

  forward(input: Tensor): Tensor {
    return embedding(input, this.weight, this.paddingIdx);
  }

  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}${this.paddingIdx === undefined ? '' : `, padding_idx=${this.paddingIdx}`}`;
  }
}

/** Normalizes over the trailing normalizedShape dimensions, with an elementwise affine (weight ones, bias zeros). */
export class LayerNorm extends Module {
  readonly normalizedShape: readonly number[];
  readonly eps: number;
  weight: Tensor | undefined;
  bias: Tensor | undefined;

  constructor(normalizedShape: number | readonly number[], options?: FactoryOptions & { eps?: number; elementwiseAffine?: boolean }) {
    super();
    const o = factory('LayerNorm', options, ['eps', 'elementwiseAffine']);
    const shape = typeof normalizedShape === 'number' ? [normalizedShape] : normalizedShape;
    if (!Array.isArray(shape) || shape.length === 0) throw invalidValue('LayerNorm', 'normalizedShape must be a size or a non-empty array of sizes', normalizedShape);
    this.normalizedShape = shape.map((n) => requireInteger('LayerNorm', 'normalizedShape', n, 1));
    this.eps = o.eps === undefined ? 1e-5 : requireFinite('LayerNorm', 'options.eps', o.eps, 0);
    const affine = o.elementwiseAffine === undefined ? true : requireBoolean('LayerNorm', 'options.elementwiseAffine', o.elementwiseAffine);
    this.weight = affine ? Parameter(ones([...this.normalizedShape], place(o))) : undefined;
    this.bias = affine ? Parameter(zeros([...this.normalizedShape], place(o))) : undefined;
  }

  forward(input: Tensor): Tensor {
    return layerNorm(input, this.normalizedShape, this.weight, this.bias, this.eps);
  }

  override extraRepr(): string {
    return `(${this.normalizedShape.join(', ')},), eps=${pythonFloat(this.eps)}, elementwise_affine=${this.weight === undefined ? 'False' : 'True'}`;
  }
}

/** Batch normalization over channels (dimension 1), with running statistics as buffers. */
abstract class BatchNorm extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number;
  weight: Tensor | undefined;
  bias: Tensor | undefined;
  declare runningMean: Tensor | undefined;
  declare runningVar: Tensor | undefined;
  declare numBatchesTracked: Tensor | undefined;
  readonly #ranks: readonly number[];

  constructor(name: string, ranks: readonly number[], numFeatures: number, options?: FactoryOptions & { eps?: number; momentum?: number; affine?: boolean; trackRunningStats?: boolean }) {
    super();
    const o = factory(name, options, ['eps', 'momentum', 'affine', 'trackRunningStats']);
    this.#ranks = ranks;
    this.numFeatures = requireInteger(name, 'numFeatures', numFeatures, 1);
    this.eps = o.eps === undefined ? 1e-5 : requireFinite(name, 'options.eps', o.eps, 0);
    this.momentum = o.momentum === undefined ? 0.1 : requireFinite(name, 'options.momentum', o.momentum, 0);
    const affine = o.affine === undefined ? true : requireBoolean(name, 'options.affine', o.affine);
    const track = o.trackRunningStats === undefined ? true : requireBoolean(name, 'options.trackRunningStats', o.trackRunningStats);
    this.weight = affine ? Parameter(ones([numFeatures], place(o))) : undefined;
    this.bias = affine ? Parameter(zeros([numFeatures], place(o))) : undefined;
    this.registerBuffer('runningMean', track ? zeros([numFeatures], place(o)) : undefined);
    this.registerBuffer('runningVar', track ? ones([numFeatures], place(o)) : undefined);
    this.registerBuffer('numBatchesTracked', track ? zeros([], { ...(o.device === undefined ? {} : { device: o.device }), dtype: 'int64' }) : undefined);
  }

  forward(input: Tensor): Tensor {
    if (!this.#ranks.includes(input.ndim)) {
      throw invalidValue(`${this.constructor.name}.forward`, `expected ${this.#ranks.join('-D or ')}-D input, got shape [${input.shape.join(', ')}]`);
    }
    const useBatch = this.training || this.runningMean === undefined;
    if (this.training && this.numBatchesTracked !== undefined) noGrad(() => this.numBatchesTracked!.add_(1));
    // Training updates the running statistics (without autograd); evaluation normalizes with them.
    return batchNorm(input, this.runningMean, this.runningVar, this.weight, this.bias, useBatch, this.momentum, this.eps);
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${pythonFloat(this.eps)}, momentum=${pythonFloat(this.momentum)}, affine=${this.weight === undefined ? 'False' : 'True'}, track_running_stats=${this.runningMean === undefined ? 'False' : 'True'}`;
  }
}

/** BatchNorm over [N, C] or [N, C, L]. */
export class BatchNorm1d extends BatchNorm {
  constructor(numFeatures: number, options?: FactoryOptions & { eps?: number; momentum?: number; affine?: boolean; trackRunningStats?: boolean }) {
    super('BatchNorm1d', [2, 3], numFeatures, options);
  }
}

/** BatchNorm over [N, C, H, W]. */
export class BatchNorm2d extends BatchNorm {
  constructor(numFeatures: number, options?: FactoryOptions & { eps?: number; momentum?: number; affine?: boolean; trackRunningStats?: boolean }) {
    super('BatchNorm2d', [4], numFeatures, options);
  }
}

/** Zeroes elements with probability p while training (from the device's generator); the identity in eval mode. */
export class Dropout extends Module {
  readonly p: number;

  constructor(p = 0.5) {
    super();
    this.p = requireFinite('Dropout', 'p', p, 0);
    if (this.p > 1) throw invalidValue('Dropout', 'p must be a probability in [0, 1]', p);
  }

  forward(input: Tensor): Tensor {
    return dropout(input, this.p, this.training);
  }

  override extraRepr(): string {
    return `p=${this.p}`;
  }
}

/** Flattens dimensions startDim..endDim (1..−1 by default: all but the batch). */
export class Flatten extends Module {
  readonly startDim: number;
  readonly endDim: number;

  constructor(startDim = 1, endDim = -1) {
    super();
    this.startDim = requireInteger('Flatten', 'startDim', startDim, Number.MIN_SAFE_INTEGER);
    this.endDim = requireInteger('Flatten', 'endDim', endDim, Number.MIN_SAFE_INTEGER);
  }

  forward(input: Tensor): Tensor {
    return input.flatten(this.startDim, this.endDim);
  }

  override extraRepr(): string {
    return `start_dim=${this.startDim}, end_dim=${this.endDim}`;
  }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return x.tanh();
  }
}

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return x.sigmoid();
  }
}

export class SiLU extends Module {
  forward(x: Tensor): Tensor {
    return x.silu();
  }
}

export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}

export class GELU extends Module {
  readonly approximate: 'none' | 'tanh';

  constructor(approximate: 'none' | 'tanh' = 'none') {
    super();
    this.approximate = requireOneOf('GELU', 'approximate', approximate, ['none', 'tanh'] as const);
  }

  forward(x: Tensor): Tensor {
    return x.gelu(this.approximate);
  }

  override extraRepr(): string {
    return `approximate='${this.approximate}'`;
  }
}

/** A module of an op along one dimension: softmax and logSoftmax. */
abstract class AlongDim extends Module {
  readonly dim: number;

  constructor(dim: number) {
    super();
    this.dim = requireInteger(this.constructor.name, 'dim', dim, Number.MIN_SAFE_INTEGER);
  }

  override extraRepr(): string {
    return `dim=${this.dim}`;
  }
}

export class Softmax extends AlongDim {
  forward(x: Tensor): Tensor {
    return x.softmax(this.dim);
  }
}

export class LogSoftmax extends AlongDim {
  forward(x: Tensor): Tensor {
    return x.logSoftmax(this.dim);
  }
}

/** 2-D convolution, weight [out, in/groups, kh, kw] initialized as PyTorch's (kaiming-uniform, a = √5; bias U(±1/√fanIn)). */
export class Conv2d extends Module {
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly options: Required<Omit<Conv2dOptions, 'groups'>> & { groups: number };
  weight: Tensor;
  bias: Tensor | undefined;

  constructor(inChannels: number, outChannels: number, kernelSize: Pair, options?: FactoryOptions & Conv2dOptions & { bias?: boolean }) {
    super();
    const o = factory('Conv2d', options, ['stride', 'padding', 'dilation', 'groups', 'bias']);
    this.inChannels = requireInteger('Conv2d', 'inChannels', inChannels, 1);
    this.outChannels = requireInteger('Conv2d', 'outChannels', outChannels, 1);
    const k = typeof kernelSize === 'number' ? [kernelSize, kernelSize] : kernelSize;
    if (!Array.isArray(k) || k.length !== 2) throw invalidValue('Conv2d', 'kernelSize must be a size or a pair of sizes', kernelSize);
    this.kernelSize = [requireInteger('Conv2d', 'kernelSize', k[0], 1), requireInteger('Conv2d', 'kernelSize', k[1], 1)];
    const groups = o.groups === undefined ? 1 : requireInteger('Conv2d', 'options.groups', o.groups, 1);
    if (inChannels % groups !== 0 || outChannels % groups !== 0) throw invalidValue('Conv2d', `inChannels and outChannels must be divisible by groups (${groups})`);
    this.options = { stride: (o.stride as Pair) ?? 1, padding: (o.padding as Pair) ?? 0, dilation: (o.dilation as Pair) ?? 1, groups };
    const withBias = o.bias === undefined ? true : requireBoolean('Conv2d', 'options.bias', o.bias);
    this.weight = Parameter(empty([outChannels, inChannels / groups, ...this.kernelSize], place(o)));
    this.bias = withBias ? Parameter(empty([outChannels], place(o))) : undefined;
    kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias !== undefined) {
      const fanIn = (inChannels / groups) * this.kernelSize[0] * this.kernelSize[1];
      uniform_(this.bias, -1 / Math.sqrt(fanIn), 1 / Math.sqrt(fanIn));
    }
  }

  forward(input: Tensor): Tensor {
    return conv2d(input, this.weight, this.bias, this.options);
  }

  override extraRepr(): string {
    const o = this.options;
    const tuple = (p: Pair) => (typeof p === 'number' ? `(${p}, ${p})` : `(${p[0]}, ${p[1]})`);
    return `${this.inChannels}, ${this.outChannels}, kernel_size=${tuple(this.kernelSize)}, stride=${tuple(o.stride)}${o.padding !== 0 ? `, padding=${tuple(o.padding)}` : ''}${o.dilation !== 1 ? `, dilation=${tuple(o.dilation)}` : ''}${o.groups !== 1 ? `, groups=${o.groups}` : ''}${this.bias === undefined ? ', bias=False' : ''}`;
  }
}

/** A pooling module: the kernel size and the options its function takes, checked at construction. */
abstract class Pool2d<O extends Pool2dOptions> extends Module {
  readonly kernelSize: Pair;
  readonly options: O;

  constructor(kernelSize: Pair, options: O | undefined, known: readonly string[]) {
    super();
    this.kernelSize = kernelSize;
    this.options = requireOptions<O>(this.constructor.name, options, 'options', known) as O;
  }

  override extraRepr(): string {
    return `kernel_size=${String(this.kernelSize)}, stride=${String(this.options.stride ?? this.kernelSize)}, padding=${String(this.options.padding ?? 0)}`;
  }
}

/** Max pooling over [N, C, H, W] windows (stride = kernel size by default). */
export class MaxPool2d extends Pool2d<Pool2dOptions> {
  constructor(kernelSize: Pair, options?: Pool2dOptions) {
    super(kernelSize, options, ['stride', 'padding', 'dilation']);
  }

  forward(input: Tensor): Tensor {
    return maxPool2d(input, this.kernelSize, this.options);
  }
}

/** Average pooling over [N, C, H, W] windows, padded zeros counted. */
export class AvgPool2d extends Pool2d<Omit<Pool2dOptions, 'dilation'>> {
  constructor(kernelSize: Pair, options?: Omit<Pool2dOptions, 'dilation'>) {
    super(kernelSize, options, ['stride', 'padding']);
  }

  forward(input: Tensor): Tensor {
    return avgPool2d(input, this.kernelSize, this.options);
  }
}

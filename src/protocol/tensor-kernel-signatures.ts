import { type KernelSignature, Param, kernelSignature } from './kernel-abi.js';

/**
 * The tensor kernels' signatures (device workers and the CPU pool run the same ones). Every
 * operand of an elementwise kernel is a view in the output's shape (broadcast inputs have
 * stride 0 on expanded dimensions). The host picks a kernel by dtype and layout: the
 * `…Contiguous` ones take operands that are dense, unbroadcast and of one float dtype.
 */
export const TensorKernel = {
  /** out = op(x); `identity` is a converting copy. */
  unary: kernelSignature('tensorUnary', { op: Param.int, out: Param.output, x: Param.input }),
  unaryContiguous: kernelSignature('tensorUnaryContiguous', { op: Param.int, out: Param.output, x: Param.input }),
  /** out = op(a, alpha·b); alpha only scales add and sub. */
  binary: kernelSignature('tensorBinary', { op: Param.int, out: Param.output, a: Param.input, b: Param.inputOrScalar, alpha: Param.float }),
  binaryContiguous: kernelSignature('tensorBinaryContiguous', { op: Param.int, out: Param.output, a: Param.input, b: Param.inputOrScalar, alpha: Param.float }),
  /** out = condition ? a : b, each broadcast to out's shape (a or b may be a scalar). */
  where: kernelSignature('tensorWhere', { out: Param.output, condition: Param.input, a: Param.inputOrScalar, b: Param.inputOrScalar }),
  /** out[…i…] = input[…index[…i…]…] along `dim`: out has index's shape (PyTorch's gather; index_select with an expanded index). */
  gather: kernelSignature('tensorGather', { out: Param.output, input: Param.input, index: Param.input, dim: Param.int }),
  /** out[…index[…i…]…] = src[…i…] along `dim` (accumulate 1: +=), over index's shape; src may be a scalar. */
  scatter: kernelSignature('tensorScatter', { out: Param.output, index: Param.input, src: Param.inputOrScalar, dim: Param.int, accumulate: Param.int }),
  /** Sorts along the last dimension: values and their original indices (stable). */
  sort: kernelSignature('tensorSort', { values: Param.output, indices: Param.output, input: Param.input, descending: Param.int }),
  /** Running sums along the last dimension. */
  cumsum: kernelSignature('tensorCumsum', { out: Param.output, input: Param.input }),
  fill: kernelSignature('tensorFill', { out: Param.output, value: Param.float }),
  /** out[i] = start + i·step, out contiguous. */
  arange: kernelSignature('tensorArange', { out: Param.output, start: Param.float, step: Param.float }),
  /**
   * Reduces the last `reduced` dimensions of `input` (the host permutes the reduced ones
   * last); `out` and `indices` are views in the kept dimensions' shape. max and min also
   * write the index of the first extreme into `indices` when given.
   */
  reduce: kernelSignature('tensorReduce', { op: Param.int, out: Param.output, indices: Param.optionalOutput, input: Param.input, reduced: Param.int }),
  /** Batched matrix product of 3-D views: out (B×n×m) = a (B×n×k) · b (B×k×m). */
  matmul: kernelSignature('tensorMatmul', { out: Param.output, a: Param.input, b: Param.input }),
  /** matmul for operands whose elements are plain numbers (float32, float64, int32, uint8). */
  matmulPlain: kernelSignature('tensorMatmulPlain', { out: Param.output, a: Param.input, b: Param.input }),
  /** Softmax (log-softmax when `log` is 1) along `dim`. */
  softmax: kernelSignature('tensorSoftmax', { log: Param.int, out: Param.output, x: Param.input, dim: Param.int }),
  softmaxBackward: kernelSignature('tensorSoftmaxBackward', { out: Param.output, grad: Param.input, y: Param.input, dim: Param.int }),
  /** Concatenates `inputs` along `dim` into `out`. */
  cat: kernelSignature('tensorCat', { out: Param.output, inputs: Param.inputs, dim: Param.int }),
} as const;
export type TensorKernel = (typeof TensorKernel)[keyof typeof TensorKernel];

/**
 * The random fills behind rt.randomUniform, rt.randomNormal and rt.randomInt: `out` is the
 * buffer as a 1-D float32, float64 or int32 tensor; the Philox key and the offset reserved
 * on the host for the fill's first value.
 */
export const RandomKernel = {
  uniform: kernelSignature('randomUniform', { out: Param.output, seedLo: Param.int, seedHi: Param.int, offset: Param.float }),
  normal: kernelSignature('randomNormal', { out: Param.output, seedLo: Param.int, seedHi: Param.int, offset: Param.float, mean: Param.float, std: Param.float }),
  int: kernelSignature('randomInt', { out: Param.output, seedLo: Param.int, seedHi: Param.int, offset: Param.float, low: Param.float, high: Param.float }),
} as const;

/** The module id of the built-in kernels: every device worker installs them at start, before any command. */
export const BUILTIN_MODULE_ID = 0;

/** The kernel rt.faults.inject launches in place of a real one (plain arguments: the error number). */
export const INJECTED_FAULT_KERNEL = 'injectedFault';

/** The built-in module's function exports, sorted as a loaded module lists them, with their signatures (null: plain). */
export const BUILTIN_KERNELS: readonly { readonly name: string; readonly signature: KernelSignature | null }[] = [
  ...[...Object.values(TensorKernel), ...Object.values(RandomKernel)].map((signature) => ({ name: signature.name, signature })),
  { name: INJECTED_FAULT_KERNEL, signature: null },
].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

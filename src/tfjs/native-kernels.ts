import { type DataType, type KernelFunc, type NamedAttrMap, type TensorInfo, slice_util, util } from '@tensorflow/tfjs-core';
import type { Tensor } from '../tensor/tensor.js';
import { cat, stack } from '../ops/builtin/cat.js';
import { where } from '../ops/builtin/selection.js';
import { full } from '../ops/factories.js';
import type { OpenRegBackend } from './openreg-backend.js';
import { CONV_KERNELS } from './conv-kernels.js';
import { DTYPE, type NativeKernel, inKernelScope, isFloat, isNumeric, named, operand, output, tmp } from './kernel-scope.js';

/**
 * The tfjs kernels openreg runs natively: openreg's own ops, as stream-ordered device work.
 * Each returns undefined for the cases it does not cover (a dtype, an attribute), which then
 * take the CPU fallback like any other kernel.
 */

/** An elementwise kernel of a and b (broadcast as numpy, PyTorch and tfjs do), for the operand dtypes `accepts` allows. */
function binary(fn: (a: Tensor, b: Tensor) => Tensor, accepts: (a: TensorInfo, b: TensorInfo) => boolean, result?: DataType): NativeKernel {
  return ({ inputs, backend }) => {
    const { a, b } = named(inputs);
    if (!accepts(a!, b!)) return undefined;
    return output(backend, fn(operand(backend, a!), operand(backend, b!)), result ?? a!.dtype);
  };
}

/** An elementwise kernel of x, for the dtypes `accepts` allows. */
function unary(fn: (x: Tensor) => Tensor, accepts: (x: TensorInfo) => boolean = isFloat): NativeKernel {
  return ({ inputs, backend }) => {
    const { x } = named(inputs);
    if (!accepts(x!)) return undefined;
    return output(backend, fn(operand(backend, x!)), x!.dtype);
  };
}

const comparison = (fn: (a: Tensor, b: Tensor) => Tensor): NativeKernel => binary(fn, (a, b) => isNumeric(a, b), 'bool');
const logical = (fn: (a: Tensor, b: Tensor) => Tensor): NativeKernel => binary(fn, (a, b) => a.dtype === 'bool' && b.dtype === 'bool', 'bool');

/** tfjs's `axis` attribute (a number, a list, or none: every axis) as openreg dims, by tfjs's own rule. */
const axes = (attr: unknown, shape: number[]): number[] => util.parseAxisParam(attr as number | number[], shape);

/** A reduction over the axes attribute (`axis`, or Max's `reductionIndices`) with `keepDims`; no axes take the fallback. */
function reduction(fn: (x: Tensor, dims: number[], keep: boolean) => Tensor, accepts: (x: TensorInfo) => boolean, axisAttr = 'axis'): NativeKernel {
  return ({ inputs, backend, attrs }) => {
    const { x } = named(inputs);
    if (!accepts(x!) || x!.shape.length === 0) return undefined;
    const dims = axes(attrs[axisAttr], x!.shape);
    if (dims.length === 0) return undefined;
    return output(backend, fn(operand(backend, x!), dims, attrs.keepDims === true), x!.dtype);
  };
}

/** The same kernel with its inputs' tensors shared (Reshape, Identity): no copy, one more reference. */
function alias(shapeOf: (x: TensorInfo, attrs: NamedAttrMap) => number[]): NativeKernel {
  return ({ inputs, backend, attrs }) => {
    const { x } = named(inputs);
    backend.incRef(x!.dataId);
    return { dataId: x!.dataId, shape: shapeOf(x!, attrs), dtype: x!.dtype };
  };
}

/** Reshape's target, its one -1 inferred as tfjs infers it. */
const reshaped = (x: TensorInfo, attrs: NamedAttrMap): number[] => util.inferFromImplicitShape(attrs.shape as number[], util.sizeFromShape(x.shape));

/** a·b with tfjs's transposes (BatchMatMul, _FusedMatMul): batch dimensions broadcast. */
function matmulOf(backend: OpenRegBackend, a: TensorInfo, b: TensorInfo, attrs: NamedAttrMap): Tensor {
  let x = operand(backend, a);
  let y = operand(backend, b);
  if (attrs.transposeA === true) x = tmp(x.transpose(-1, -2));
  if (attrs.transposeB === true) y = tmp(y.transpose(-1, -2));
  return x.matmul(y);
}

/** A tensor of x's shape and dtype filled with `value` (ZerosLike, OnesLike). */
function filledLike(value: number): NativeKernel {
  return ({ inputs, backend }) => {
    const { x } = named(inputs);
    const dtype = DTYPE[x!.dtype];
    if (dtype === undefined) return undefined;
    return output(backend, full(x!.shape, value, { dtype, device: backend.deviceName() }), x!.dtype);
  };
}

/** Operands a matmul takes (rank ≥ 2, inner dimensions equal); others fall back to tfjs's checks and messages. */
function matmulFits(a: TensorInfo, b: TensorInfo, attrs: NamedAttrMap): boolean {
  if (a.shape.length < 2 || b.shape.length < 2) return false;
  const inner = attrs.transposeA === true ? a.shape[a.shape.length - 2] : a.shape[a.shape.length - 1];
  const other = attrs.transposeB === true ? b.shape[b.shape.length - 1] : b.shape[b.shape.length - 2];
  return inner === other;
}

/** The activations _FusedMatMul takes natively (`alpha`: leakyrelu's slope). */
const ACTIVATIONS: Record<string, ((t: Tensor, alpha: number) => Tensor) | undefined> = {
  linear: (t) => t,
  relu: (t) => t.relu(),
  relu6: (t) => t.clamp(0, 6),
  leakyrelu: (t, alpha) => where(tmp(t.gt(0)), t, tmp(t.mul(alpha))),
  sigmoid: (t) => t.sigmoid(),
  elu: (t) => where(tmp(t.gt(0)), t, tmp(t.expm1())),
};

/** Kernel name → the native implementation. */
export const NATIVE_KERNELS: Readonly<Record<string, NativeKernel>> = {
  ...CONV_KERNELS,
  Reshape: alias(reshaped),
  Identity: alias((x) => x.shape),
  Add: binary((a, b) => a.add(b), isNumeric),
  Sub: binary((a, b) => a.sub(b), isNumeric),
  Multiply: binary((a, b) => a.mul(b), isNumeric),
  RealDiv: binary((a, b) => a.div(b), isFloat),
  Maximum: binary((a, b) => a.maximum(b), isNumeric),
  Minimum: binary((a, b) => a.minimum(b), isNumeric),
  SquaredDifference: binary((a, b) => {
    const d = tmp(a.sub(b));
    return d.mul(d);
  }, isFloat),
  Equal: comparison((a, b) => a.eq(b)),
  NotEqual: comparison((a, b) => a.ne(b)),
  Less: comparison((a, b) => a.lt(b)),
  LessEqual: comparison((a, b) => a.le(b)),
  Greater: comparison((a, b) => a.gt(b)),
  GreaterEqual: comparison((a, b) => a.ge(b)),
  LogicalAnd: logical((a, b) => a.logicalAnd(b)),
  LogicalOr: logical((a, b) => a.logicalOr(b)),
  LogicalNot: unary((x) => x.logicalNot(), (x) => x.dtype === 'bool'),
  Abs: unary((x) => x.abs(), (x) => isNumeric(x)),
  Neg: unary((x) => x.neg(), (x) => isNumeric(x)),
  Exp: unary((x) => x.exp()),
  Log: unary((x) => x.log()),
  Log1p: unary((x) => x.log1p()),
  Expm1: unary((x) => x.expm1()),
  Sqrt: unary((x) => x.sqrt()),
  Rsqrt: unary((x) => x.rsqrt()),
  Square: unary((x) => x.mul(x), (x) => isNumeric(x)),
  Reciprocal: unary((x) => x.reciprocal()),
  Relu: unary((x) => x.relu(), (x) => isNumeric(x)),
  Elu: unary((x) => ACTIVATIONS.elu!(x, 0)),
  Sigmoid: unary((x) => x.sigmoid()),
  Tanh: unary((x) => x.tanh()),
  Erf: unary((x) => x.erf()),
  Floor: unary((x) => x.floor()),
  Ceil: unary((x) => x.ceil()),
  Round: unary((x) => x.round()),
  Sign: unary((x) => x.sign()),
  Cast: ({ inputs, backend, attrs }) => {
    const { x } = named(inputs);
    const to = attrs.dtype as DataType;
    if (DTYPE[x!.dtype] === undefined || DTYPE[to] === undefined) return undefined;
    return output(backend, operand(backend, x!), to);
  },
  Sum: reduction((x, d, k) => x.sum(d, k), (x) => isFloat(x)),
  Mean: reduction((x, d, k) => x.mean(d, k), (x) => isFloat(x)),
  // One dimension at a time, the last first (openreg's prod takes one).
  Prod: reduction((x, d, k) => [...d].sort((p, q) => q - p).reduce((t, dim) => tmp(t).prod(dim, k), x), (x) => isFloat(x)),
  Max: reduction((x, d, k) => x.amax(d, k), (x) => isNumeric(x), 'reductionIndices'),
  Min: reduction((x, d, k) => x.amin(d, k), (x) => isNumeric(x)),
  ArgMax: ({ inputs, backend, attrs }) => {
    const { x } = named(inputs);
    if (!isNumeric(x!) || x!.shape.length === 0) return undefined;
    const [dim] = axes(attrs.axis, x!.shape);
    // tfjs skips NaN (PyTorch's argmax picks it).
    const t = operand(backend, x!);
    return output(backend, (x!.dtype === 'float32' ? tmp(where(tmp(t.isnan()), -Infinity, t)) : t).argmax(dim!), 'int32');
  },
  ArgMin: ({ inputs, backend, attrs }) => {
    const { x } = named(inputs);
    if (!isNumeric(x!) || x!.shape.length === 0) return undefined;
    const [dim] = axes(attrs.axis, x!.shape);
    const t = operand(backend, x!);
    return output(backend, (x!.dtype === 'float32' ? tmp(where(tmp(t.isnan()), Infinity, t)) : t).argmin(dim!), 'int32');
  },
  Softmax: ({ inputs, backend, attrs }) => {
    const { logits } = named(inputs);
    if (!isFloat(logits!) || logits!.shape.length === 0) return undefined;
    const [dim] = axes(attrs.dim, logits!.shape);
    return output(backend, operand(backend, logits!).softmax(dim ?? -1), 'float32');
  },
  BatchMatMul: ({ inputs, backend, attrs }) => {
    const { a, b } = named(inputs);
    if (!isFloat(a!, b!) || !matmulFits(a!, b!, attrs)) return undefined;
    return output(backend, matmulOf(backend, a!, b!, attrs), 'float32');
  },
  _FusedMatMul: ({ inputs, backend, attrs }) => {
    const { a, b, bias, preluActivationWeights } = named(inputs);
    const activation = ACTIVATIONS[(attrs.activation as string | undefined) ?? 'linear'];
    if (!isFloat(a!, b!) || !matmulFits(a!, b!, attrs) || activation === undefined || preluActivationWeights !== undefined || (bias !== undefined && !isFloat(bias))) return undefined;
    const product = tmp(matmulOf(backend, a!, b!, attrs));
    const biased = bias === undefined ? product : tmp(product.add(operand(backend, bias)));
    return output(backend, activation(biased, (attrs.leakyreluAlpha as number | undefined) ?? 0.2), 'float32');
  },
  Transpose: ({ inputs, backend, attrs }) => {
    const { x } = named(inputs);
    if (DTYPE[x!.dtype] === undefined) return undefined;
    return output(backend, operand(backend, x!).permute(...(attrs.perm as number[])), x!.dtype);
  },
  Slice: ({ inputs, backend, attrs }) => {
    const { x } = named(inputs);
    if (DTYPE[x!.dtype] === undefined) return undefined;
    // tfjs's own normalization and checks (its messages for an out-of-bounds slice).
    const [begin, size] = slice_util.parseSliceParams(x as unknown as Parameters<typeof slice_util.parseSliceParams>[0], attrs.begin as number[], attrs.size as number[]);
    slice_util.assertParamsValid(x as unknown as Parameters<typeof slice_util.assertParamsValid>[0], begin, size);
    let t = operand(backend, x!);
    x!.shape.forEach((_, d) => (t = tmp(t.slice(d, begin[d]!, begin[d]! + size[d]!))));
    return output(backend, t, x!.dtype);
  },
  Concat: ({ inputs, backend, attrs }) => {
    const list = inputs as TensorInfo[];
    if (list.length === 0 || !list.every((i) => DTYPE[i.dtype] !== undefined && i.dtype === list[0]!.dtype)) return undefined;
    const rank = list[0]!.shape.length;
    if (rank === 0) return undefined;
    const [dim] = axes(attrs.axis, list[0]!.shape);
    return output(backend, cat(list.map((i) => operand(backend, i)), dim!), list[0]!.dtype);
  },
  Pack: ({ inputs, backend, attrs }) => {
    const list = inputs as TensorInfo[];
    if (list.length === 0 || !list.every((i) => DTYPE[i.dtype] !== undefined && i.dtype === list[0]!.dtype)) return undefined;
    const axis = attrs.axis as number;
    return output(backend, stack(list.map((i) => operand(backend, i)), axis < 0 ? axis + list[0]!.shape.length + 1 : axis), list[0]!.dtype);
  },
  Unpack: ({ inputs, backend, attrs }) => {
    const { value } = named(inputs);
    if (DTYPE[value!.dtype] === undefined || value!.shape.length === 0) return undefined;
    const [dim] = axes(attrs.axis, value!.shape);
    const t = operand(backend, value!);
    return Array.from({ length: value!.shape[dim!]! }, (_, i) => output(backend, t.select(dim!, i), value!.dtype));
  },
  Tile: ({ inputs, backend, attrs }) => {
    const { x } = named(inputs);
    if (DTYPE[x!.dtype] === undefined || x!.shape.length === 0) return undefined;
    return output(backend, operand(backend, x!).tile(...(attrs.reps as number[])), x!.dtype);
  },
  Fill: ({ backend, attrs }) => {
    const dtype = attrs.dtype as DataType;
    if (DTYPE[dtype] === undefined || typeof attrs.value !== 'number') return undefined;
    return output(backend, full(attrs.shape as number[], attrs.value, { dtype: DTYPE[dtype], device: backend.deviceName() }), dtype);
  },
  ClipByValue: ({ inputs, backend, attrs }) => {
    const { x } = named(inputs);
    if (!isFloat(x!)) return undefined;
    return output(backend, operand(backend, x!).clamp(attrs.clipValueMin as number, attrs.clipValueMax as number), 'float32');
  },
  Relu6: unary((x) => ACTIVATIONS.relu6!(x, 0)),
  LeakyRelu: ({ inputs, backend, attrs }) => {
    const { x } = named(inputs);
    if (!isFloat(x!)) return undefined;
    return output(backend, ACTIVATIONS.leakyrelu!(operand(backend, x!), attrs.alpha as number), 'float32');
  },
  // tfjs's where: a condition of the values' shape (a rank-1 condition selects rows, which PyTorch's broadcasting does not: fallback).
  Select: ({ inputs, backend }) => {
    const { condition, t, e } = named(inputs);
    const same = (a: TensorInfo, b: TensorInfo) => a.shape.length === b.shape.length && a.shape.every((n, i) => n === b.shape[i]);
    if (condition!.dtype !== 'bool' || !isNumeric(t!, e!) || !same(condition!, t!) || !same(t!, e!)) return undefined;
    return output(backend, where(operand(backend, condition!), operand(backend, t!), operand(backend, e!)), t!.dtype);
  },
  AddN: ({ inputs, backend }) => {
    const list = inputs as TensorInfo[];
    if (list.length === 0 || !isNumeric(...list) || !list.every((i) => i.shape.join() === list[0]!.shape.join())) return undefined;
    return output(backend, list.slice(1).reduce((sum, i) => tmp(sum).add(operand(backend, i)), operand(backend, list[0]!)), list[0]!.dtype);
  },
  ZerosLike: filledLike(0),
  OnesLike: filledLike(1),
  Step: ({ inputs, backend, attrs }) => {
    const { x } = named(inputs);
    if (!isFloat(x!)) return undefined;
    // 1 above zero, alpha elsewhere, NaN kept (tfjs's step: relu's derivative).
    const t = operand(backend, x!);
    return output(backend, where(tmp(t.isnan()), Number.NaN, tmp(where(tmp(t.gt(0)), 1, attrs.alpha as number))), 'float32');
  },
  PadV2: ({ inputs, backend, attrs }) => {
    const { x } = named(inputs);
    if (!isNumeric(x!) || typeof attrs.constantValue !== 'number') return undefined;
    const paddings = attrs.paddings as [number, number][];
    const shape = x!.shape.map((n, d) => paddings[d]![0] + n + paddings[d]![1]);
    const out = full(shape, attrs.constantValue, { dtype: DTYPE[x!.dtype]!, device: backend.deviceName() });
    // x into the middle: a view of out, written in place.
    let middle = out;
    x!.shape.forEach((n, d) => (middle = tmp(middle.slice(d, paddings[d]![0], paddings[d]![0] + n))));
    middle.copy_(operand(backend, x!));
    return output(backend, out, x!.dtype);
  },
  GatherV2: ({ inputs, backend, attrs }) => {
    const { x, indices } = named(inputs);
    if (DTYPE[x!.dtype] === undefined || indices!.dtype !== 'int32' || (attrs.batchDims as number | undefined ?? 0) !== 0 || x!.shape.length === 0) return undefined;
    const [dim] = axes(attrs.axis, x!.shape);
    // An index out of range would be a device-side assert (a sticky error, as on CUDA): tfjs's
    // cpu refuses it with its own message, so such a gather takes the fallback.
    const size = x!.shape[dim!]!;
    if ((backend.readSync(indices!.dataId) as Int32Array).some((i) => i < 0 || i >= size)) return undefined;
    const picked = tmp(operand(backend, x!).indexSelect(dim!, tmp(operand(backend, indices!).reshape(-1))));
    return output(backend, picked.reshape(...x!.shape.slice(0, dim), ...indices!.shape, ...x!.shape.slice(dim! + 1)), x!.dtype);
  },
};

/** A native kernel, or the fallback when it does not cover the call; its intermediates are disposed either way. */
export function nativeOrFallback(native: NativeKernel, fallback: KernelFunc): KernelFunc {
  return (args) => inKernelScope(() => native(args as Parameters<NativeKernel>[0]) ?? fallback(args));
}

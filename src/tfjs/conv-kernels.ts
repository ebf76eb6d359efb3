import { type NamedAttrMap, backend_util } from '@tensorflow/tfjs-core';
import type { Tensor } from '../tensor/tensor.js';
import { zeros } from '../ops/factories.js';
import { where } from '../ops/builtin/selection.js';
import { avgPool2d, conv2d, maxPool2d, outSize } from '../nn/functional-conv.js';
import { type NativeKernel, isFloat, named, operand, output, tmp } from './kernel-scope.js';

/**
 * tfjs's convolution and pooling kernels (NHWC) on openreg's conv2d, max_pool2d and avg_pool2d
 * (NCHW): the layouts are permuted on the device, and the backprop kernels are openreg's own
 * derivatives (autograd through the forward op). Asymmetric padding (tfjs's 'same' with an even
 * window), NCHW data, and average pooling over padding take the fallback.
 */

type ConvInfo = ReturnType<typeof backend_util.computeConv2DInfo>;

/** The convolution's geometry by tfjs's own rules (its checks and messages included). */
function convInfo(xShape: number[], filterShape: number[], attrs: NamedAttrMap, depthwise = false): ConvInfo {
  const { strides, pad, dilations, dimRoundingMode, dataFormat } = attrs as Record<string, never>;
  const format = backend_util.convertConv2DDataFormat(dataFormat ?? 'NHWC');
  return backend_util.computeConv2DInfo(xShape as [number, number, number, number], filterShape as [number, number, number, number], strides, dilations ?? 1, pad, dimRoundingMode, depthwise, format);
}

/**
 * The info's padding when openreg's ops compute the same windows: symmetric (they pad both sides
 * alike), at most half a window (PyTorch's limit), and giving tfjs's output size (its
 * dimRoundingMode may round up); else undefined.
 */
function symmetricPadding(info: ConvInfo): [number, number] | undefined {
  const p = info.padInfo;
  if (p.top !== p.bottom || p.left !== p.right) return undefined;
  const fits = (size: number, window: number, dilation: number, stride: number, pad: number, out: number): boolean => 2 * pad <= window && outSize(size, window, stride, pad, dilation) === out;
  const rows = fits(info.inHeight, info.filterHeight, info.dilationHeight, info.strideHeight, p.top, info.outHeight);
  const cols = fits(info.inWidth, info.filterWidth, info.dilationWidth, info.strideWidth, p.left, info.outWidth);
  return rows && cols ? [p.top, p.left] : undefined;
}

/** tfjs's max pooling skips NaN (PyTorch's propagates it): NaN as −∞ gives tfjs's answer. */
const withoutNaN = (t: Tensor): Tensor => tmp(where(tmp(t.isnan()), -Infinity, t));

const toNCHW = (t: Tensor): Tensor => tmp(t.permute(0, 3, 1, 2));
const toNHWC = (t: Tensor): Tensor => tmp(t).permute(0, 2, 3, 1);
/** A tfjs filter [fh, fw, in, out] as openreg's weight [out, in, fh, fw]. */
const toOIHW = (t: Tensor): Tensor => tmp(t.permute(3, 2, 0, 1));

const isNHWC = (attrs: NamedAttrMap): boolean => attrs.dataFormat === undefined || attrs.dataFormat === 'NHWC';

/** The gradient of `of` (a leaf made here) through `forward`, for the upstream gradient dy (NCHW). */
function gradientOf(of: Tensor, forward: (leaf: Tensor) => Tensor, dy: Tensor): Tensor {
  const leaf = tmp(of).requiresGrad_();
  tmp(forward(leaf)).backward(dy);
  return tmp(leaf.grad!);
}

type Pair = [number, number];

/** openreg's conv2d options for a tfjs convolution of input `xShape` (NHWC), or undefined when openreg would compute other windows. */
function convOptions(xShape: number[], filterShape: number[], attrs: NamedAttrMap): { stride: Pair; padding: Pair; dilation: Pair } | undefined {
  if (!isNHWC(attrs) || xShape.length !== 4) return undefined;
  const info = convInfo(xShape, filterShape, attrs);
  const padding = symmetricPadding(info);
  return padding === undefined ? undefined : { stride: [info.strideHeight, info.strideWidth], padding, dilation: [info.dilationHeight, info.dilationWidth] };
}

/** openreg's pooling of a tfjs pooling over `xShape` (NHWC) as a function of an NCHW tensor, or undefined when openreg would compute other windows. */
function poolingOf(kind: 'max' | 'avg', xShape: number[], attrs: NamedAttrMap): ((x: Tensor) => Tensor) | undefined {
  if (xShape.length !== 4) return undefined;
  const { filterSize, strides, pad, dimRoundingMode } = attrs as Record<string, never>;
  const info = backend_util.computePool2DInfo(xShape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  const padding = symmetricPadding(info);
  // tfjs's average leaves padding out of the count; PyTorch's default counts it: only unpadded averages run here.
  if (padding === undefined || (kind === 'avg' && (padding[0] !== 0 || padding[1] !== 0))) return undefined;
  const options = { stride: [info.strideHeight, info.strideWidth] as Pair, padding };
  const window: Pair = [info.filterHeight, info.filterWidth];
  return kind === 'max' ? (x) => maxPool2d(x, window, options) : (x) => avgPool2d(x, window, options);
}

function pool(kind: 'max' | 'avg'): NativeKernel {
  return ({ inputs, backend, attrs }) => {
    const { x } = named(inputs);
    const pooling = poolingOf(kind, x!.shape, attrs);
    if (!isFloat(x!) || pooling === undefined) return undefined;
    const xs = toNCHW(operand(backend, x!));
    return output(backend, toNHWC(pooling(kind === 'max' ? withoutNaN(xs) : xs)), 'float32');
  };
}

/** The input gradient of a pooling (MaxPoolGrad, AvgPoolGrad): openreg's derivative of the forward pooling. */
function poolGrad(kind: 'max' | 'avg'): NativeKernel {
  return ({ inputs, backend, attrs }) => {
    const { dy, input } = named(inputs);
    const pooling = input === undefined ? undefined : poolingOf(kind, input.shape, attrs);
    if (pooling === undefined || !isFloat(dy!, input!)) return undefined;
    const nchw = toNCHW(operand(backend, input!));
    const xs = tmp((kind === 'max' ? withoutNaN(nchw) : nchw).contiguous());
    return output(backend, toNHWC(gradientOf(xs, pooling, toNCHW(operand(backend, dy!)))), 'float32');
  };
}

export const CONV_KERNELS: Readonly<Record<string, NativeKernel>> = {
  Conv2D: ({ inputs, backend, attrs }) => {
    const { x, filter } = named(inputs);
    const options = convOptions(x!.shape, filter!.shape, attrs);
    if (!isFloat(x!, filter!) || options === undefined) return undefined;
    return output(backend, toNHWC(conv2d(toNCHW(operand(backend, x!)), toOIHW(operand(backend, filter!)), undefined, options)), 'float32');
  },
  Conv2DBackpropInput: ({ inputs, backend, attrs }) => {
    const { dy, filter } = named(inputs);
    const inputShape = attrs.inputShape as number[];
    const options = convOptions(inputShape, filter!.shape, attrs);
    if (!isFloat(dy!, filter!) || options === undefined) return undefined;
    const w = toOIHW(operand(backend, filter!));
    // The convolution is linear in x: its gradient at zeros is the input gradient.
    const [n, h, wd, c] = inputShape as [number, number, number, number];
    const x0 = zeros([n, c, h, wd], { dtype: 'float32', device: backend.deviceName() });
    return output(backend, toNHWC(gradientOf(x0, (leaf) => conv2d(leaf, w, undefined, options), toNCHW(operand(backend, dy!)))), 'float32');
  },
  Conv2DBackpropFilter: ({ inputs, backend, attrs }) => {
    const { x, dy } = named(inputs);
    const filterShape = attrs.filterShape as number[];
    const options = convOptions(x!.shape, filterShape, attrs);
    if (!isFloat(x!, dy!) || options === undefined) return undefined;
    const xs = toNCHW(operand(backend, x!));
    const [fh, fw, cin, cout] = filterShape as [number, number, number, number];
    const w0 = zeros([cout, cin, fh, fw], { dtype: 'float32', device: backend.deviceName() });
    const grad = gradientOf(w0, (leaf) => conv2d(xs, leaf, undefined, options), toNCHW(operand(backend, dy!)));
    // [out, in, fh, fw] back to tfjs's [fh, fw, in, out].
    return output(backend, grad.permute(2, 3, 1, 0), 'float32');
  },
  MaxPool: pool('max'),
  AvgPool: pool('avg'),
  MaxPoolGrad: poolGrad('max'),
  AvgPoolGrad: poolGrad('avg'),
};

import { invalidValue } from '../errors/errors.js';
import { requireInteger, requireOptions } from '../errors/validate.js';
import { DTYPES } from '../tensor/dtype.js';
import type { TensorDevice } from '../tensor/device.js';
import type { Tensor } from '../tensor/tensor.js';
import { full, tensor } from '../ops/factories.js';
import { cat } from '../ops/builtin/cat.js';
import { requireTensor } from './functional-layers.js';

/**
 * Convolution and pooling over [N, C, H, W], as PyTorch's conv2d, max_pool2d and avg_pool2d:
 * each window is gathered by index_select from the image flattened with one extra element
 * (zero, or −∞ for max pooling) that padded positions point at, then reduced by a batched
 * matmul (convolution) or over the window. Everything is an op with a derivative, so the
 * backward (index_select's is a scatter-add over overlapping windows) is autograd's.
 */

export type Pair = number | readonly [number, number];

function pair(call: string, name: string, value: Pair, min: number): [number, number] {
  const [a, b] = typeof value === 'number' ? [value, value] : Array.isArray(value) && value.length === 2 ? value : [NaN, NaN];
  return [requireInteger(call, name, a, min), requireInteger(call, name, b, min)];
}

interface Window {
  readonly kernel: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
}

/** Output size along one dimension (PyTorch's formula). */
export function outSize(size: number, kernel: number, stride: number, padding: number, dilation: number): number {
  return Math.floor((size + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1;
}

/** Window indices kept on the host by geometry: a model reuses a few, and building one loops over every window element. */
const windowIndices = new Map<string, Tensor>();
const WINDOW_INDEX_CACHE_BYTES = 64 << 20;
let windowIndexBytes = 0;

/** The int64 index of every window element into an H×W image flattened (H·W is the pad slot), on the host. */
function hostWindowIndex(h: number, w: number, oh: number, ow: number, win: Window): Tensor {
  const key = [h, w, ...win.kernel, ...win.stride, ...win.padding, ...win.dilation].join();
  const cached = windowIndices.get(key);
  if (cached !== undefined) {
    // Most recently used last: eviction takes the first.
    windowIndices.delete(key);
    windowIndices.set(key, cached);
    return cached;
  }
  const [kh, kw] = win.kernel;
  const idx = new Array<number>(oh * ow * kh * kw);
  let i = 0;
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      for (let a = 0; a < kh; a++) {
        for (let b = 0; b < kw; b++) {
          const iy = y * win.stride[0] - win.padding[0] + a * win.dilation[0];
          const ix = x * win.stride[1] - win.padding[1] + b * win.dilation[1];
          idx[i++] = iy >= 0 && iy < h && ix >= 0 && ix < w ? iy * w + ix : h * w;
        }
      }
    }
  }
  const index = tensor(idx, { dtype: 'int64', device: 'cpu' });
  windowIndices.set(key, index);
  windowIndexBytes += idx.length * 8;
  for (const [k, t] of windowIndices) {
    if (windowIndexBytes <= WINDOW_INDEX_CACHE_BYTES || k === key) break;
    windowIndices.delete(k);
    windowIndexBytes -= t.numel() * 8;
    t.dispose();
  }
  return index;
}

/**
 * The window index on `device`: a non-blocking upload in stream order (a blocking one would
 * make the host wait for the device's earlier work at every convolution).
 */
function windowIndex(call: string, device: TensorDevice, h: number, w: number, win: Window): { index: Tensor; oh: number; ow: number } {
  const [kh, kw] = win.kernel;
  const oh = outSize(h, kh, win.stride[0], win.padding[0], win.dilation[0]);
  const ow = outSize(w, kw, win.stride[1], win.padding[1], win.dilation[1]);
  if (oh <= 0 || ow <= 0) throw invalidValue(call, `the window [${kh}, ${kw}] (dilation [${win.dilation.join(', ')}]) does not fit the padded input [${h + 2 * win.padding[0]}, ${w + 2 * win.padding[1]}]`);
  return { index: hostWindowIndex(h, w, oh, ow, win).to(device, { nonBlocking: true }), oh, ow };
}

/** The windows of x [N, C, H, W]: [N, C, OH·OW, KH·KW], padded positions reading `fill`. */
function unfold(call: string, x: Tensor, win: Window, fill: number): { windows: Tensor; oh: number; ow: number } {
  if (x.ndim !== 4) throw invalidValue(call, `expected a 4-D input [N, C, H, W], got shape [${x.shape.join(', ')}]`);
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const { index, oh, ow } = windowIndex(call, x.device, h, w, win);
  const padded = cat([x.reshape(n, c, h * w), full([n, c, 1], fill, { dtype: x.dtype, device: x.device })], 2);
  const windows = padded.indexSelect(2, index).reshape(n, c, oh * ow, win.kernel[0] * win.kernel[1]);
  return { windows, oh, ow };
}

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
}

/** 2-D convolution (cross-correlation, as PyTorch's): weight [O, C/groups, KH, KW], bias [O]. */
export function conv2d(input: Tensor, weight: Tensor, bias?: Tensor, convOptions?: Conv2dOptions): Tensor {
  const call = 'conv2d';
  const options = requireOptions<Conv2dOptions>(call, convOptions, 'options', ['stride', 'padding', 'dilation', 'groups']);
  const x = requireTensor(call, 'input', input);
  const wt = requireTensor(call, 'weight', weight);
  if (wt.ndim !== 4) throw invalidValue(call, `weight must be 4-D [O, C/groups, KH, KW], got shape [${wt.shape.join(', ')}]`);
  if (DTYPES[x.dtype].category !== 'floating' || x.dtype !== wt.dtype) throw invalidValue(call, `input and weight must share one floating dtype, got ${x.dtype} and ${wt.dtype}`);
  const groups = requireInteger(call, 'groups', options.groups ?? 1, 1);
  const [o, cg, kh, kw] = wt.shape as [number, number, number, number];
  const c = x.shape[1]!;
  if (c !== cg * groups || o % groups !== 0) throw invalidValue(call, `expected input with ${cg * groups} channels (weight [${wt.shape.join(', ')}], groups ${groups}) and out channels divisible by groups, got input shape [${x.shape.join(', ')}]`);
  const win: Window = { kernel: [kh, kw], stride: pair(call, 'stride', options.stride ?? 1, 1), padding: pair(call, 'padding', options.padding ?? 0, 0), dilation: pair(call, 'dilation', options.dilation ?? 1, 1) };
  const n = x.shape[0]!;
  const { windows, oh, ow } = unfold(call, x, win, 0);
  // [N, G, C/G, L, K] → [N, G, L, C/G·K]: each row one window across the group's channels.
  const columns = windows.reshape(n, groups, cg, oh * ow, kh * kw).permute(0, 1, 3, 2, 4).reshape(n, groups, oh * ow, cg * kh * kw);
  const kernels = wt.reshape(groups, o / groups, cg * kh * kw).transpose(1, 2);
  let y = columns.matmul(kernels).permute(0, 1, 3, 2).reshape(n, o, oh, ow);
  if (bias !== undefined) y = y.add(requireTensor(call, 'bias', bias).reshape(1, o, 1, 1));
  return y;
}

export interface Pool2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
}

function poolWindow(call: string, kernelSize: Pair, poolOptions: Pool2dOptions | undefined, known: readonly string[]): Window {
  const options = requireOptions<Pool2dOptions>(call, poolOptions, 'options', known);
  const kernel = pair(call, 'kernelSize', kernelSize, 1);
  const padding = pair(call, 'padding', options.padding ?? 0, 0);
  if (padding[0] * 2 > kernel[0] || padding[1] * 2 > kernel[1]) throw invalidValue(call, 'padding should be at most half of the kernel size');
  return { kernel, stride: pair(call, 'stride', options.stride ?? kernel, 1), padding, dilation: pair(call, 'dilation', options.dilation ?? 1, 1) };
}

/** The largest element of each window (padding is −∞); its gradient goes to the first largest. */
export function maxPool2d(input: Tensor, kernelSize: Pair, options?: Pool2dOptions): Tensor {
  const call = 'maxPool2d';
  const x = requireTensor(call, 'input', input);
  const { windows, oh, ow } = unfold(call, x, poolWindow(call, kernelSize, options, ['stride', 'padding', 'dilation']), -Infinity);
  const [, at] = windows.detach().max(3, true);
  return windows.gather(3, at).reshape(x.shape[0]!, x.shape[1]!, oh, ow);
}

/** The mean of each window, padded zeros included (PyTorch's count_include_pad=True). */
export function avgPool2d(input: Tensor, kernelSize: Pair, options?: Omit<Pool2dOptions, 'dilation'>): Tensor {
  const call = 'avgPool2d';
  const x = requireTensor(call, 'input', input);
  const { windows, oh, ow } = unfold(call, x, poolWindow(call, kernelSize, options, ['stride', 'padding']), 0);
  return windows.mean(3).reshape(x.shape[0]!, x.shape[1]!, oh, ow);
}

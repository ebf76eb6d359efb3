import { invalidValue, openRegError } from '../errors/errors.js';
import { given, requireArity, requireOptions } from '../errors/validate.js';
import { Generator } from '../integration/random/generator.js';
import { type DeviceLike, TensorDevice, resolveDevice } from '../tensor/device.js';
import { DTYPES, type DType, type DTypeAlias, checkFits, dtypeNamed } from '../tensor/dtype.js';
import { encodeInto, flatten, inferredDType } from '../tensor/host-data.js';
import { checkShape, numel } from '../tensor/shape.js';
import { reachOf } from '../protocol/kernel-abi.js';
import { Tensor, asRaisedBy, op } from '../tensor/tensor.js';
import { type Executor, hostBytes } from './executor.js';
import { cpuStorage } from './host-executors.js';
export { cpuGenerator } from './host-random.js';
import { defineBuiltin, executorOf } from './register.js';
import './builtins.js';
import { launchArange, launchFill } from './builtin/launch.js';
import { copyInto } from './builtin/copies.js';

/** Options of the factories (`torch.zeros(..., dtype=, device=, requires_grad=)`). */
export interface TensorOptions {
  /** A dtype, or PyTorch's `'float'`, `'double'`, `'half'`, `'long'`, `'int'`. @default float32 (int64 for integer data, bool for booleans in `tensor()`) */
  dtype?: DType | DTypeAlias;
  /** `'openreg'` (the current openreg device), `'openreg:1'`, `'cpu'`, `'meta'`. @default 'cpu' */
  device?: DeviceLike;
  requiresGrad?: boolean;
}

export interface RandomTensorOptions extends TensorOptions {
  /** A generator of the target device (`rt.newGenerator(d)`); the device's default generator otherwise. */
  generator?: Generator;
}

interface Resolved {
  dtype: DType;
  device: TensorDevice;
  requiresGrad: boolean;
}

const TENSOR_OPTIONS = ['dtype', 'device', 'requiresGrad'] as const;
const RANDOM_OPTIONS = [...TENSOR_OPTIONS, 'generator'] as const;

function resolve(call: string, options: unknown, fallback: DType = 'float32', known: readonly string[] = TENSOR_OPTIONS): Resolved {
  const o = requireOptions<TensorOptions>(call, options, 'options', known);
  const dtype = o.dtype === undefined ? fallback : dtypeNamed(o.dtype);
  if (dtype === undefined) throw invalidValue(call, `options.dtype must be one of ${Object.keys(DTYPES).join(', ')} (or float, double, half, long, int)`, o.dtype);
  const requiresGrad = given(o.requiresGrad, false);
  if (typeof requiresGrad !== 'boolean') throw invalidValue(call, 'options.requiresGrad must be a boolean', requiresGrad);
  if (requiresGrad && DTYPES[dtype].category !== 'floating') throw invalidValue(call, `only floating-point tensors can require gradients, this one would be ${dtype}`, requiresGrad);
  return { dtype, device: resolveDevice(call, o.device), requiresGrad };
}

function finish(t: Tensor, r: Resolved): Tensor {
  if (r.requiresGrad) t.requiresGrad = true;
  return t;
}

function sizeOf(call: string, shape: unknown): number[] {
  return checkShape(call, typeof shape === 'number' ? [shape] : shape);
}

/**
 * A factory's shape and options from `(shape, options?)` or PyTorch's `(...sizes, options?)`:
 * `zeros([2, 3])`, `zeros(2, 3)`, `zeros(2, 3, { device })`.
 */
function shapeAndOptions(call: string, args: ArrayLike<unknown>): [number[], unknown] {
  const n = args.length;
  if (n === 0) throw invalidValue(call, 'a shape is needed: (2, 3), ([2, 3]) or ([]) for a scalar', n);
  if (typeof args[0] !== 'number') {
    if (n > 2) throw invalidValue(call, `takes a shape and options, got ${n} arguments`, n);
    return [sizeOf(call, args[0]), args[1]];
  }
  const last = args[n - 1];
  const sizes = Array.from({ length: typeof last === 'number' ? n : n - 1 }, (_, i) => args[i]);
  return [sizeOf(call, sizes), typeof last === 'number' ? undefined : last];
}

/** The factory op `name` on `device`, errors naming `call` (zeros and ones are `full`). */
const fromDevice = (device: TensorDevice, call: string, name: string, args: unknown[]) => op(call, name, [...args, device], device) as Tensor;

// The factory ops check their own arguments too: callOp reaches them without the public wrappers.
defineBuiltin('empty(int[] size, ScalarType dtype, Device device) -> Tensor', (ex, size: unknown, dtype: DType) => ex.empty(dtype, checkShape('empty', size)));
defineBuiltin('empty_strided(int[] size, int[] stride, ScalarType dtype, Device device) -> Tensor', (ex, size: number[], stride: number[], dtype: DType) => {
  const span = reachOf(size, stride);
  const base = ex.empty(dtype, [span]);
  const out = base.viewAs(size, stride, 0);
  base.dispose();
  return out;
});
defineBuiltin('full(int[] size, Scalar fill_value, ScalarType dtype, Device device) -> Tensor', (ex, size: unknown, value: number, dtype: DType) => {
  checkFits('full', dtype, value, true);
  const out = ex.empty(dtype, checkShape('full', size));
  launchFill(ex, out, value);
  return out;
});
defineBuiltin('arange(Scalar start, Scalar end, Scalar step, ScalarType dtype, Device device) -> Tensor', (ex, start: number, end: number, step: number, dtype: DType) => {
  const call = 'arange';
  if (dtype === 'bool') throw invalidValue(call, 'arange is not implemented for bool');
  const [n] = checkShape(call, [Math.max(0, Math.ceil((end - start) / step))]) as [number];
  // Every value must fit the dtype: the first and the last bound the rest.
  if (n > 0) for (const v of [start, start + (n - 1) * step]) checkFits(call, dtype, v);
  const out = ex.empty(dtype, [n]);
  launchArange(ex, out, start, step);
  return out;
});
defineBuiltin('openreg::random(int[] size, bool normal, ScalarType dtype, Generator? generator, Device device) -> Tensor', (ex, size: number[], normal: boolean, dtype: DType, generator: Generator | undefined) =>
  randomOn(ex, size, normal, dtype, generator),
);

/** A tensor of `shape` whose values are not initialized (`torch.empty`). */
export function empty(shape: number | readonly number[], options?: TensorOptions): Tensor;
export function empty(...sizesThenOptions: (number | TensorOptions)[]): Tensor;
export function empty(...args: unknown[]): Tensor {
  const [shape, options] = shapeAndOptions('empty', args);
  const r = resolve('empty', options);
  return finish(fromDevice(r.device, 'empty', 'empty', [shape, r.dtype]), r);
}

/** An uninitialized tensor with explicit strides (`torch.empty_strided`). */
export function emptyStrided(shape: readonly number[], strides: readonly number[], options?: TensorOptions): Tensor {
  requireArity('emptyStrided', arguments, 3);
  const call = 'emptyStrided';
  const r = resolve(call, options);
  const size = sizeOf(call, shape);
  if (!Array.isArray(strides) || strides.length !== size.length || !strides.every((s) => Number.isInteger(s) && s >= 0)) {
    throw invalidValue(call, `strides must be ${size.length} non-negative integers`, strides);
  }
  return finish(op(call, 'empty_strided', [size, [...strides], r.dtype, r.device], r.device) as Tensor, r);
}

export function full(shape: number | readonly number[], value: number | boolean, options?: TensorOptions): Tensor {
  requireArity('full', arguments, 3);
  const call = 'full';
  if (typeof value !== 'number' && typeof value !== 'boolean') throw invalidValue(call, 'value must be a number or a boolean', value);
  const r = resolve(call, options, inferredDType(value));
  checkFits(call, r.dtype, value, true);
  return finish(fromDevice(r.device, call, 'full', [sizeOf(call, shape), Number(value), r.dtype]), r);
}

/** Zeros of a shape: `zeros([2, 3])` or `zeros(2, 3, { device })`. */
export function zeros(shape: number | readonly number[], options?: TensorOptions): Tensor;
export function zeros(...sizesThenOptions: (number | TensorOptions)[]): Tensor;
export function zeros(...args: unknown[]): Tensor {
  const [shape, options] = shapeAndOptions('zeros', args);
  const r = resolve('zeros', options);
  return finish(fromDevice(r.device, 'zeros', 'full', [shape, 0, r.dtype]), r);
}

/** Ones of a shape: `ones([2, 3])` or `ones(2, 3, { device })`. */
export function ones(shape: number | readonly number[], options?: TensorOptions): Tensor;
export function ones(...sizesThenOptions: (number | TensorOptions)[]): Tensor;
export function ones(...args: unknown[]): Tensor {
  const [shape, options] = shapeAndOptions('ones', args);
  const r = resolve('ones', options);
  return finish(fromDevice(r.device, 'ones', 'full', [shape, 1, r.dtype]), r);
}

export function zerosLike(t: Tensor, options?: TensorOptions): Tensor {
  requireArity('zerosLike', arguments, 2);
  const like = likeOptions('zerosLike', t, options);
  try {
    return zeros(t.shape, like);
  } catch (error) {
    throw asRaisedBy('zerosLike', error);
  }
}

export function onesLike(t: Tensor, options?: TensorOptions): Tensor {
  requireArity('onesLike', arguments, 2);
  const like = likeOptions('onesLike', t, options);
  try {
    return ones(t.shape, like);
  } catch (error) {
    throw asRaisedBy('onesLike', error);
  }
}

/** `t`'s dtype and device, overridden by `options` (a live tensor is needed: a disposed one is refused). */
function likeOptions(call: string, t: unknown, options: unknown): TensorOptions {
  if (!Tensor.isGenuine(t)) throw invalidValue(call, 'expected a Tensor', t);
  t.storage(call);
  return { dtype: t.dtype, device: t.device, ...requireOptions<TensorOptions>(call, options, 'options', TENSOR_OPTIONS) };
}

/** start, start+step, … below end (`torch.arange`); int64 when every bound is an integer. */
export function arange(end: number, options?: TensorOptions): Tensor;
export function arange(start: number, end: number, options?: TensorOptions): Tensor;
export function arange(start: number, end?: number, step?: number, options?: TensorOptions): Tensor;
export function arange(...args: unknown[]): Tensor {
  requireArity('arange', args, 4);
  const call = 'arange';
  // PyTorch's arange(end), arange(start, end), arange(start, end, step), each with options last.
  let given = args;
  while (given.length > 0 && given[given.length - 1] === undefined) given = given.slice(0, -1);
  const numbers = given.length > 0 && typeof given[given.length - 1] === 'object' ? given.slice(0, -1) : given;
  const options = numbers.length < given.length ? given[given.length - 1] : undefined;
  if (numbers.length === 0 || numbers.length > 3) throw invalidValue(call, 'takes (end), (start, end) or (start, end, step), then options', numbers.length);
  const [start, end, step = 1] = numbers as [number, number | undefined, number | undefined];
  const [from, to] = end === undefined ? [0, start] : [start, end];
  for (const [name, v] of [['start', from], ['end', to], ['step', step]] as const) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw invalidValue(call, `${name} must be a finite number`, v);
  }
  if (step === 0 || (to - from) * step < 0) throw invalidValue(call, 'upper bound and larger bound inconsistent with step sign', step);
  const integral = [from, to, step].every(Number.isInteger);
  const r = resolve(call, options, integral ? 'int64' : 'float32');
  return finish(fromDevice(r.device, call, 'arange', [from, to, step, r.dtype]), r);
}

/** Uniform in [0, 1) from the device's generator (`torch.rand`). */
export function rand(shape: number | readonly number[], options?: RandomTensorOptions): Tensor;
export function rand(...sizesThenOptions: (number | RandomTensorOptions)[]): Tensor;
export function rand(...args: unknown[]): Tensor {
  const [shape, options] = shapeAndOptions('rand', args);
  return random('rand', shape, false, options);
}

/** Standard normal from the device's generator (`torch.randn`). */
export function randn(shape: number | readonly number[], options?: RandomTensorOptions): Tensor;
export function randn(...sizesThenOptions: (number | RandomTensorOptions)[]): Tensor;
export function randn(...args: unknown[]): Tensor {
  const [shape, options] = shapeAndOptions('randn', args);
  return random('randn', shape, true, options);
}

function random(call: string, shape: unknown, normal: boolean, options: unknown): Tensor {
  const r = resolve(call, options, 'float32', RANDOM_OPTIONS);
  if (DTYPES[r.dtype].category !== 'floating') throw invalidValue(call, `${call} needs a floating dtype`, r.dtype);
  const generator = (options as RandomTensorOptions | undefined)?.generator;
  if (generator !== undefined && !(generator instanceof Generator)) throw invalidValue(call, 'options.generator must be a Generator', generator);
  return finish(op(call, 'openreg::random', [sizeOf(call, shape), normal, r.dtype, generator, r.device], r.device) as Tensor, r);
}

/** The host's generator (`torch.default_generator`): Philox too, so cpu and openreg draw the same values from the same seed. */

function randomOn(ex: Executor, size: number[], normal: boolean, dtype: DType, generator: Generator | undefined): Tensor {
  const direct = dtype === 'float32' || dtype === 'float64';
  const fill = ex.empty(direct ? dtype : 'float32', size);
  const n = fill.numel();
  // A backend's executor without random fills would hand back uninitialized memory: refuse instead.
  if (typeof ex.fillRandom !== 'function') {
    fill.dispose();
    throw openRegError('notImplemented', { call: normal ? 'randn' : 'rand', op: 'random fills', device: ex.device.type });
  }
  if (n > 0) ex.fillRandom(fill, normal, generator);
  if (direct) return fill;
  const out = ex.empty(dtype, size);
  copyInto('rand', out, fill);
  fill.dispose();
  return out;
}

/**
 * A tensor from nested arrays (`torch.tensor`): built on the host, then copied to `device`.
 * The dtype is inferred as PyTorch does: bool, int64 for integers, float32 otherwise.
 */
/** Options of `tensor()`: a flat typed array's `shape` too. */
export interface TensorDataOptions extends TensorOptions {
  /** The shape of a flat typed array's values; @default [its length] */
  shape?: readonly number[];
}

/** The dtype a typed array's elements are, for those openreg has. */
function typedArrayDType(call: string, data: ArrayBufferView): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Uint8Array) return 'uint8';
  throw invalidValue(call, 'a typed array must be a Float32Array, Float64Array, Int32Array, BigInt64Array or Uint8Array (the dtypes openreg has)', data);
}

/**
 * A tensor of `data`: nested arrays of numbers, booleans or bigints (dtype inferred as
 * PyTorch does), or a typed array (its dtype; `options.shape` shapes it). The values are
 * copied once into the tensor's memory (a device copies them in its stream's order).
 */
export function tensor(data: unknown, options?: TensorDataOptions): Tensor {
  requireArity('tensor', arguments, 2);
  const call = 'tensor';
  if (data instanceof Tensor) throw invalidValue(call, 'data is already a Tensor; use clone() or to()', data.toString());
  const o = requireOptions<TensorDataOptions>(call, options, 'options', [...TENSOR_OPTIONS, 'shape']);
  const { shape: given, ...tensorOptions } = o;
  let shape: number[];
  let r: Resolved;
  let raw: Uint8Array | undefined;
  let values: ArrayLike<number | boolean | bigint>;
  if (ArrayBuffer.isView(data) && !(data instanceof DataView)) {
    const own = typedArrayDType(call, data);
    const length = (data as unknown as ArrayLike<unknown>).length;
    shape = given === undefined ? [length] : checkShape(call, given);
    if (numel(shape) !== length) throw invalidValue(call, `options.shape [${shape.join(', ')}] holds ${numel(shape)} elements, the typed array ${length}`, given);
    r = resolve(call, tensorOptions, own);
    values = data as unknown as ArrayLike<number | bigint>;
    // Already the tensor's dtype: its bytes go in as they are.
    if (r.dtype === own) raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  } else {
    if (given !== undefined) throw invalidValue(call, 'options.shape is for a flat typed array; nested arrays have their shape', given);
    const flat = flatten(call, data);
    shape = flat.shape;
    values = flat.values;
    // JS has no float literals: data that asks for gradients (`[1.0, 2.0]` is `[1, 2]`) means floats.
    const wantsGrad = tensorOptions.requiresGrad === true && tensorOptions.dtype === undefined;
    const inferred: DType = flat.kinds.has('float') || (wantsGrad && flat.kinds.has('number')) ? 'float32' : flat.kinds.has('number') || flat.kinds.has('bigint') ? 'int64' : flat.kinds.size === 0 ? 'float32' : 'bool';
    r = resolve(call, tensorOptions, inferred);
  }
  const bytes = numel(shape) * DTYPES[r.dtype].itemsize;
  const out = r.device.type === 'cpu' ? Tensor.over(cpuStorage(bytes, undefined, undefined, undefined, call), r.dtype, shape) : (op(call, 'empty', [shape, r.dtype, r.device], r.device) as Tensor);
  try {
    const ex = executorOf(call, [out]);
    if (raw !== undefined) ex.writeBytes(call, out, raw);
    else if (r.device.type === 'cpu') encodeInto(call, r.dtype, values, hostBytes(out, call));
    else {
      const encoded = new Uint8Array(bytes);
      encodeInto(call, r.dtype, values, encoded);
      ex.writeBytes(call, out, encoded);
    }
  } catch (error) {
    out.dispose();
    throw asRaisedBy(call, error);
  }
  return finish(out, r);
}

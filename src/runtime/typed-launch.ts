import { invalidValue } from '../errors/errors.js';
import { type ArgumentWords, type KernelSignature, type LaunchArgs, type OperandLayout, type Params, type TensorOperand, accessesOf, contiguousStrides, encodeArguments } from '../protocol/kernel-abi.js';
import { DTypeCode, MAX_TENSOR_DIMS } from '../protocol/tensor-abi.js';

/** A tensor operand as a user passes it to a typed kernel: `strides` default to contiguous. */
export interface TensorArgument {
  readonly ptr: number;
  readonly dtype: keyof typeof DTypeCode;
  readonly shape: readonly number[];
  readonly strides?: readonly number[];
}

const TENSOR_KEYS = new Set(['ptr', 'dtype', 'shape', 'strides']);

const LAYOUT: OperandLayout<TensorOperand> = {
  dtype: (o) => o.dtype,
  ptr: (o) => o.ptr,
  shape: (o) => o.shape,
  strides: (o) => o.strides,
};

function integers(call: string, what: string, value: unknown, length?: number): number[] {
  if (!Array.isArray(value) || value.length > MAX_TENSOR_DIMS) throw invalidValue(call, `${what} must be an array of at most ${MAX_TENSOR_DIMS} non-negative integers`, value);
  if (length !== undefined && value.length !== length) throw invalidValue(call, `${what} must have one entry per dimension (${length})`, value);
  for (const n of value) if (!Number.isSafeInteger(n) || (n as number) < 0) throw invalidValue(call, `${what} must be an array of at most ${MAX_TENSOR_DIMS} non-negative integers`, value);
  return value as number[];
}

function tensorOperand(call: string, what: string, value: unknown): TensorOperand {
  if (value === null || typeof value !== 'object' || Object.getPrototypeOf(value) !== Object.prototype) throw invalidValue(call, `${what} must be { ptr, dtype, shape, strides? }`, value);
  for (const key of Object.keys(value)) if (!TENSOR_KEYS.has(key)) throw invalidValue(call, `${what} has an unknown key "${key}" (expected ptr, dtype, shape, strides)`, value);
  const { ptr, dtype, shape, strides } = value as Partial<TensorArgument>;
  if (!Number.isSafeInteger(ptr)) throw invalidValue(call, `${what}.ptr must be a device pointer`, ptr);
  if (typeof dtype !== 'string' || !Object.hasOwn(DTypeCode, dtype)) throw invalidValue(call, `${what}.dtype must be one of ${Object.keys(DTypeCode).join(', ')}`, dtype);
  const dims = integers(call, `${what}.shape`, shape);
  return { ptr: ptr!, dtype: DTypeCode[dtype], shape: dims, strides: strides === undefined ? contiguousStrides(dims) : integers(call, `${what}.strides`, strides, dims.length) };
}

/**
 * Checks a typed kernel launch's arguments against its signature (every parameter named,
 * no others) and encodes them into `words`; returns the byte ranges it reads and writes.
 */
export function encodeTypedLaunch(call: string, kernelName: string, signature: KernelSignature, args: unknown, words: ArgumentWords): ReturnType<typeof accessesOf> {
  if (args === null || typeof args !== 'object' || Array.isArray(args)) throw invalidValue(call, `${kernelName} is a typed kernel: args must be an object with its parameters (${Object.keys(signature.params).join(', ')})`, args);
  const given = args as Record<string, unknown>;
  for (const key of Object.keys(given)) if (!Object.hasOwn(signature.params, key)) throw invalidValue(call, `${kernelName} has no parameter "${key}" (it has: ${Object.keys(signature.params).join(', ')})`);
  const checked: Record<string, unknown> = {};
  for (const [name, type] of Object.entries(signature.params)) {
    const value = given[name];
    const what = `args.${name} of ${kernelName}`;
    if (type.kind === 'int') {
      if (!Number.isSafeInteger(value)) throw invalidValue(call, `${what} must be an integer`, value);
      checked[name] = value;
    } else if (type.kind === 'float') {
      if (typeof value !== 'number') throw invalidValue(call, `${what} must be a number`, value);
      checked[name] = value;
    } else if (type.kind === 'tensors') {
      if (!Array.isArray(value)) throw invalidValue(call, `${what} must be an array of tensors`, value);
      checked[name] = value.map((v, i) => tensorOperand(call, `args.${name}[${i}] of ${kernelName}`, v));
    } else if (typeof value === 'number' && type.scalar) {
      checked[name] = value;
    } else if (value === undefined && type.optional) {
      checked[name] = undefined;
    } else checked[name] = tensorOperand(call, what, value);
  }
  const launch = checked as LaunchArgs<Params, TensorOperand>;
  encodeArguments(signature, launch, LAYOUT, words);
  return accessesOf(signature, launch, LAYOUT);
}

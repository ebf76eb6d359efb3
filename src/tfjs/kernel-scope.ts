import type { DataType, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import type { OpenRegBackend } from './openreg-backend.js';

/**
 * How a native kernel sees its operands and makes its outputs: openreg tensors of the tfjs
 * shapes, and a scope that disposes what the kernel made on the way.
 */
export type NativeKernel = (args: { inputs: Record<string, TensorInfo | TensorInfo[]> | TensorInfo[]; backend: OpenRegBackend; attrs: NamedAttrMap }) => TensorInfo | TensorInfo[] | undefined;

export const DTYPE: Partial<Record<DataType, DType>> = { float32: 'float32', int32: 'int32', bool: 'bool' };

/**
 * The tensors a native kernel made on the way (its operands' views, intermediates), disposed when
 * it returns: their device memory goes back to the caching allocator at once, not at the next
 * garbage collection. `kept` are the outputs' own tensors.
 */
let scope: Set<Tensor> | undefined;
let kept: Set<Tensor> | undefined;

/** Marks `t` as the kernel's intermediate. */
export function tmp(t: Tensor): Tensor {
  scope?.add(t);
  return t;
}

/**
 * The input's elements as an openreg tensor of its tfjs shape: always a view of its own (a data
 * id's tensor is disposed with it; an output that passes an input on must not share the handle).
 */
export function operand(backend: OpenRegBackend, info: TensorInfo): Tensor {
  return tmp(backend.tensorOf(info).reshape(...info.shape));
}

/** A new output holding `t` (made contiguous: reads and Reshape see its elements in order) as `dtype`. */
export function output(backend: OpenRegBackend, t: Tensor, dtype: DataType): TensorInfo {
  const want = DTYPE[dtype]!;
  const typed = t.dtype === want ? t : tmp(t).to(want);
  const own = typed.isContiguous() ? typed : tmp(typed).contiguous();
  kept?.add(own);
  return backend.makeOutput(own, own.shape, dtype);
}

export const named = (inputs: Record<string, TensorInfo | TensorInfo[]> | TensorInfo[]): Record<string, TensorInfo> => inputs as Record<string, TensorInfo>;
export const isFloat = (...infos: TensorInfo[]): boolean => infos.every((i) => i.dtype === 'float32');
export const isNumeric = (...infos: TensorInfo[]): boolean => infos.every((i) => i.dtype === 'float32' || i.dtype === 'int32') && infos.every((i) => i.dtype === infos[0]!.dtype);

/** Runs a native kernel in a scope of its own: what it made on the way is disposed when it returns, its outputs kept. */
export function inKernelScope<T>(fn: () => T): T {
  const [outer, outerKept] = [scope, kept];
  scope = new Set();
  kept = new Set();
  try {
    return fn();
  } finally {
    for (const t of scope) if (!kept.has(t)) t.dispose();
    [scope, kept] = [outer, outerKept];
  }
}

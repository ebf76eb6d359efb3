import { invalidValue } from '../errors/errors.js';
import { DTYPES, type DType, checkFits, fromBFloat16Bits, fromFloat16Bits, toBFloat16Bits, toFloat16Bits } from './dtype.js';
import { MAX_TENSOR_DIMS } from '../protocol/tensor-abi.js';
import type { Shape } from './shape.js';

/** Values as JS reads them: 16-bit floats decoded to float32, bool as 0/1 bytes, int64 as bigints. */
export type TensorData = Float32Array | Float64Array | Int32Array | Uint8Array | BigInt64Array;
/** Nested arrays of numbers (`tensor.toArray()`, `tensor([[1, 2], [3, 4]])`). */
export type NestedArray = number | boolean | NestedArray[];

/** Decodes contiguous elements of `dtype` from `bytes`. */
/** The values of `bytes` (which the caller hands over: they are viewed, not copied, when aligned). */
export function decode(dtype: DType, bytes: Uint8Array): TensorData {
  const info = DTYPES[dtype];
  const count = bytes.byteLength / info.itemsize;
  const own = bytes.byteOffset % info.itemsize === 0 ? bytes : bytes.slice();
  const raw = new info.storage(own.buffer, own.byteOffset, count);
  if (dtype === 'float16' || dtype === 'bfloat16') {
    const from = dtype === 'float16' ? fromFloat16Bits : fromBFloat16Bits;
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = from(raw[i] as number);
    return out;
  }
  return raw as TensorData;
}

/** The numbers each integer dtype holds (int64's upper bound is exclusive: 2^63 is not a safe comparison point otherwise). */
const NUMBER_RANGE: Readonly<Partial<Record<DType, readonly [number, number]>>> = {
  uint8: [0, 256],
  int32: [-(2 ** 31), 2 ** 31],
  int64: [-(2 ** 63), 2 ** 63],
};

/** Writes `values` (already in flat order) as elements of `dtype` into `target`; a value that does not fit is refused, never wrapped. */
export function encodeInto(call: string, dtype: DType, values: ArrayLike<number | boolean | bigint>, target: Uint8Array): void {
  const info = DTYPES[dtype];
  const out = new info.storage(target.buffer, target.byteOffset, values.length);
  const range = NUMBER_RANGE[dtype];
  if (dtype === 'float32' || dtype === 'float64' || dtype === 'int32' || dtype === 'uint8') {
    // The common dtypes: the typed array converts; only the range check (integers) is ours.
    const [lo, hi] = range ?? [-Infinity, Infinity];
    const typed = out as Float32Array;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (typeof v !== 'number') {
        checkFits(call, dtype, v);
        typed[i] = Number(v);
      } else {
        // NaN fails both comparisons: refused for integers, kept for floats.
        if (range !== undefined && !(Math.trunc(v) >= lo && Math.trunc(v) < hi)) checkFits(call, dtype, v);
        typed[i] = v;
      }
    }
    return;
  }
  if (dtype === 'int64') {
    // Safe integers as two int32 words (little-endian, as typed arrays are here); the rest through BigInt.
    const words = new Int32Array(target.buffer, target.byteOffset, values.length * 2);
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (typeof v === 'number' && Number.isSafeInteger(v)) {
        words[2 * i] = v | 0;
        words[2 * i + 1] = Math.floor(v / 2 ** 32);
      } else {
        checkFits(call, dtype, v);
        out[i] = convert(dtype, v) as never;
      }
    }
    return;
  }
  for (let i = 0; i < values.length; i++) {
    checkFits(call, dtype, values[i]!);
    out[i] = convert(dtype, values[i]!) as never;
  }
}

function convert(dtype: DType, v: number | boolean | bigint): number | bigint {
  if (dtype === 'int64') {
    if (typeof v === 'bigint') return BigInt.asIntN(64, v);
    const n = Number(v);
    return Number.isFinite(n) ? BigInt.asIntN(64, BigInt(Math.trunc(n))) : 0n;
  }
  const n = Number(v);
  if (dtype === 'bool') return n !== 0 ? 1 : 0;
  if (dtype === 'float16') return toFloat16Bits(n);
  if (dtype === 'bfloat16') return toBFloat16Bits(n);
  return n;
}

/** Integers a JS number holds exactly are int64 data only inside int64's range; beyond it they were floats (`1e40`). */
const INT64_LIMIT = 2 ** 63;

/** The dtype PyTorch infers from one Python scalar: bool, int64 for an integer in its range, else float32 (`torch.full`). */
export function inferredDType(value: number | boolean): DType {
  if (typeof value === 'boolean') return 'bool';
  return Number.isInteger(value) && Math.abs(value) < INT64_LIMIT ? 'int64' : 'float32';
}

const KIND_BOOLEAN = 1;
const KIND_NUMBER = 2;
const KIND_FLOAT = 4;
const KIND_BIGINT = 8;
const KIND_NAMES = [
  [KIND_BOOLEAN, 'boolean'],
  [KIND_NUMBER, 'number'],
  [KIND_FLOAT, 'float'],
  [KIND_BIGINT, 'bigint'],
] as const;

/** Most values flatten() sizes its array for up front. */
const PRESIZED_LIMIT = 2 ** 26;

/**
 * Shape and flat values of nested arrays (every row of a dimension the same length). `kinds`
 * says what the leaves are: bool, number (integers in int64's range), float, bigint.
 */
export function flatten(call: string, data: unknown): { shape: number[]; values: (number | boolean | bigint)[]; kinds: Set<string> } {
  const shape: number[] = [];
  // The first elements give the shape; an array that contains itself would never end.
  const path = new Set<unknown>();
  for (let level: unknown = data; Array.isArray(level); level = level[0]) {
    if (path.has(level)) throw invalidValue(call, 'data contains itself (a cyclic array)', level);
    if (shape.length === MAX_TENSOR_DIMS) throw invalidValue(call, `data nests deeper than ${MAX_TENSOR_DIMS} dimensions, the most a tensor may have`, shape.length + 1);
    path.add(level);
    shape.push(level.length);
  }
  // Sized up front when the first row's lengths say how many there will be (and that is not absurd).
  const expected = shape.reduce((p, n) => p * n, 1);
  const values: (number | boolean | bigint)[] = expected <= PRESIZED_LIMIT ? new Array(expected) : [];
  let count = 0;
  let kinds = 0;
  // Where the walk is, turned into `[i][j]` only for an error message.
  const index: number[] = [];
  const at = (depth: number) => index.slice(0, depth).map((i) => `[${i}]`).join('');
  const leaf = (node: unknown, depth: number): void => {
    if (typeof node === 'number') {
      kinds |= Number.isInteger(node) && node >= -INT64_LIMIT && node < INT64_LIMIT ? KIND_NUMBER : KIND_FLOAT;
    } else if (typeof node === 'boolean') {
      kinds |= KIND_BOOLEAN;
    } else if (typeof node === 'bigint') {
      if (node < -(2n ** 63n) || node >= 2n ** 63n) throw invalidValue(call, `data${at(depth)} cannot be converted to type int64 without overflow`, node);
      kinds |= KIND_BIGINT;
    } else {
      throw invalidValue(call, `data${at(depth)} must be a number, a boolean or a bigint`, node);
    }
    values[count++] = node;
  };
  const walk = (node: unknown, depth: number): void => {
    if (depth === shape.length) return leaf(node, depth);
    if (!Array.isArray(node) || node.length !== shape[depth]) {
      throw invalidValue(call, `data${at(depth)} must be an array of length ${shape[depth]} (nested arrays must be rectangular)`, node);
    }
    // Index by index: forEach would skip the holes of a sparse array ([1, , 3]).
    if (depth === shape.length - 1) {
      // The innermost rows hold almost every value: numbers are taken inline.
      for (let i = 0; i < node.length; i++) {
        const v: unknown = node[i];
        if (typeof v === 'number') {
          if ((kinds & KIND_FLOAT) === 0) kinds |= Number.isInteger(v) && v >= -INT64_LIMIT && v < INT64_LIMIT ? KIND_NUMBER : KIND_FLOAT;
          values[count++] = v;
        } else {
          index[depth] = i;
          leaf(v, depth + 1);
        }
      }
      return;
    }
    for (let i = 0; i < node.length; i++) {
      index[depth] = i;
      walk(node[i], depth + 1);
    }
  };
  walk(data, 0);
  values.length = count;
  const names = new Set<string>();
  for (const [bit, name] of KIND_NAMES) if ((kinds & bit) !== 0) names.add(name);
  return { shape, values, kinds: names };
}

/** Flat values back into nested arrays of `shape` (bool as booleans, int64 as numbers). */
export function nest(dtype: DType, shape: Shape, flat: TensorData): NestedArray {
  const at = (i: number): number | boolean => (dtype === 'bool' ? flat[i] !== 0 : Number(flat[i]!));
  if (shape.length === 0) return at(0);
  let index = 0;
  const build = (depth: number): NestedArray[] => {
    const out: NestedArray[] = [];
    for (let i = 0; i < shape[depth]!; i++) out.push(depth === shape.length - 1 ? at(index++) : build(depth + 1));
    return out;
  };
  return build(0);
}

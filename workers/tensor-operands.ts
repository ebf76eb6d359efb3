/**
 * How the tensor kernels see their operands: typed element access whatever the dtype, and a
 * row-by-row walk of a strided index space. Shared by every kernel file.
 */
import type { TensorArg } from '../src/protocol/kernel-abi.js';
import { fromBFloat16Bits, fromFloat16Bits, toBFloat16Bits, toFloat16Bits } from '../src/protocol/half.js';
import { DTypeCode, SCALAR_OPERAND } from '../src/protocol/tensor-abi.js';

/** One operand: element access by index relative to its first element. */
export interface Operand {
  get(i: number): number;
  set(i: number, v: number): void;
  /** The raw array when its elements are plain numbers (float32, float64, int32, uint8). */
  readonly plain: PlainArray | undefined;
  /** An int64 operand's 32-bit words (low first): read element i as `int64At(words, i)` without a BigInt. */
  readonly words?: Int32Array;
}

/**
 * Element i of int64 `words`: a small non-negative value (an index) is its low word, in integer
 * arithmetic; else hi·2³² is exact and the one addition rounds once, as Number(bigint) does.
 */
export function int64At(words: Int32Array, i: number): number {
  const lo = words[2 * i]!;
  const hi = words[2 * i + 1]!;
  return hi === 0 && lo >= 0 ? lo : hi * 4294967296 + (lo >>> 0);
}

let float16Table: Float32Array | undefined;
/** float16 decoding is a table lookup (65536 entries, built on first use). */
function float16Decoder(): Float32Array {
  if (float16Table === undefined) {
    float16Table = new Float32Array(65536);
    for (let b = 0; b < 65536; b++) float16Table[b] = fromFloat16Bits(b);
  }
  return float16Table;
}

function plain(arr: PlainArray): Operand {
  return { get: (i) => arr[i]!, set: (i, v) => (arr[i] = v), plain: arr };
}

/** A tensor with no elements: nothing to address, so no view of device memory is taken. */
const NO_ELEMENTS: Operand = Object.freeze({ get: () => NaN, set: () => undefined, plain: undefined });

/** Element access to a decoded tensor argument (its memory was bounds-checked for its whole reach). */
export function operand(arg: TensorArg): Operand {
  if (arg.dtype === SCALAR_OPERAND) {
    const value = arg.value;
    return { get: () => value, set: () => undefined, plain: undefined };
  }
  if (arg.reach === 0) return NO_ELEMENTS;
  const { memory, byteOffset: at, reach: n } = arg;
  switch (arg.dtype) {
    case DTypeCode.float32:
      return plain(new Float32Array(memory, at, n));
    case DTypeCode.float64:
      return plain(new Float64Array(memory, at, n));
    case DTypeCode.int32:
      return plain(new Int32Array(memory, at, n));
    case DTypeCode.uint8:
      return plain(new Uint8Array(memory, at, n));
    case DTypeCode.bool: {
      const arr = new Uint8Array(memory, at, n);
      return { get: (i) => arr[i]!, set: (i, v) => (arr[i] = v !== 0 ? 1 : 0), plain: undefined };
    }
    case DTypeCode.int64: {
      // Through 32-bit words (little-endian, low word first): a BigInt per element would allocate.
      const words = new Int32Array(memory, at, 2 * n);
      const arr = new BigInt64Array(memory, at, n);
      return {
        get: (i) => int64At(words, i),
        set: (i, v) => {
          const t = Math.trunc(v);
          if (Number.isSafeInteger(t)) {
            const hi = Math.floor(t / 4294967296);
            words[2 * i] = t - hi * 4294967296;
            words[2 * i + 1] = hi;
          } else {
            arr[i] = Number.isFinite(t) ? BigInt.asIntN(64, BigInt(t)) : 0n;
          }
        },
        plain: undefined,
        words,
      };
    }
    case DTypeCode.float16: {
      const arr = new Uint16Array(memory, at, n);
      const table = float16Decoder();
      return { get: (i) => table[arr[i]!]!, set: (i, v) => (arr[i] = toFloat16Bits(v)), plain: undefined };
    }
    case DTypeCode.bfloat16: {
      const arr = new Uint16Array(memory, at, n);
      return { get: (i) => fromBFloat16Bits(arr[i]!), set: (i, v) => (arr[i] = toBFloat16Bits(v)), plain: undefined };
    }
    default:
      throw new RangeError(`unknown dtype code ${arg.dtype}`);
  }
}

/** The strides of an argument in the kernel's iteration space: a scalar's are all 0. */
export function stridesIn(arg: TensorArg, ndim: number): readonly number[] {
  return arg.dtype === SCALAR_OPERAND ? zeros(ndim) : arg.strides;
}

const ZEROS: number[][] = [];
function zeros(n: number): readonly number[] {
  return (ZEROS[n] ??= new Array<number>(n).fill(0));
}

/**
 * Walks an index space row by row: `base[k]` is operand k's offset at the start of the row,
 * `length` elements with stride `inner[k]`. Dimension 0 is the outermost. Offsets are int32
 * (a view is far below 2^31 elements): V8 indexes typed arrays fastest with small integers.
 */
export class Rows {
  readonly base: Int32Array;
  readonly inner: Int32Array;
  readonly length: number;
  /** False if the space has no element. */
  readonly nonEmpty: boolean;
  readonly #shape: readonly number[];
  readonly #strides: readonly (readonly number[])[];
  readonly #index: Int32Array;

  constructor(shape: readonly number[], strides: readonly (readonly number[])[]) {
    const d = shape.length;
    this.#shape = shape;
    this.#strides = strides;
    this.#index = new Int32Array(Math.max(d - 1, 0));
    this.base = new Int32Array(strides.length);
    this.inner = new Int32Array(strides.length);
    this.length = d === 0 ? 1 : shape[d - 1]!;
    for (let k = 0; k < strides.length; k++) this.inner[k] = d === 0 ? 0 : strides[k]![d - 1]!;
    this.nonEmpty = shape.every((n) => n > 0);
  }

  /** Back to the first row, with each operand starting at `origin[k]` (0 when omitted). */
  reset(origin?: ArrayLike<number>): void {
    this.#index.fill(0);
    for (let k = 0; k < this.base.length; k++) this.base[k] = origin === undefined ? 0 : origin[k]!;
  }

  /** Advances to the next row; false after the last. */
  next(): boolean {
    const shape = this.#shape;
    for (let dim = shape.length - 2; dim >= 0; dim--) {
      const i = ++this.#index[dim]!;
      if (i < shape[dim]!) {
        for (let k = 0; k < this.base.length; k++) this.base[k]! += this.#strides[k]![dim]!;
        return true;
      }
      this.#index[dim] = 0;
      for (let k = 0; k < this.base.length; k++) this.base[k]! -= (shape[dim]! - 1) * this.#strides[k]![dim]!;
    }
    return false;
  }
}

export type PlainArray = Float32Array | Float64Array | Int32Array | Uint8Array;

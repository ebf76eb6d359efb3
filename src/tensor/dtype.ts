import { invalidValue } from '../errors/errors.js';

/**
 * Element types of tensors, as PyTorch has them: how each is stored, and how two combine
 * (type promotion). float16 and bfloat16 are stored as 16-bit patterns (Node 20 has no
 * Float16Array) and converted with exact round-to-nearest-even.
 */
export type DType = 'bool' | 'uint8' | 'int32' | 'int64' | 'float16' | 'bfloat16' | 'float32' | 'float64';

export type StorageArray = Uint8Array | Int32Array | BigInt64Array | Uint16Array | Float32Array | Float64Array;

interface DTypeInfo {
  readonly itemsize: number;
  readonly category: 'bool' | 'integral' | 'floating';
  /** The typed array over its storage (16-bit floats: their bit patterns). */
  readonly storage: { new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): StorageArray; new (length: number): StorageArray };
}

export const DTYPES: Readonly<Record<DType, DTypeInfo>> = {
  bool: { itemsize: 1, category: 'bool', storage: Uint8Array },
  uint8: { itemsize: 1, category: 'integral', storage: Uint8Array },
  int32: { itemsize: 4, category: 'integral', storage: Int32Array },
  int64: { itemsize: 8, category: 'integral', storage: BigInt64Array },
  float16: { itemsize: 2, category: 'floating', storage: Uint16Array },
  bfloat16: { itemsize: 2, category: 'floating', storage: Uint16Array },
  float32: { itemsize: 4, category: 'floating', storage: Float32Array },
  float64: { itemsize: 8, category: 'floating', storage: Float64Array },
};

export function isDType(value: unknown): value is DType {
  return typeof value === 'string' && Object.hasOwn(DTYPES, value);
}

export { fromBFloat16Bits, fromFloat16Bits, toBFloat16Bits, toFloat16Bits } from '../protocol/half.js';

// ---------------------------------------------------------------- type promotion

const ORDER: readonly DType[] = ['bool', 'uint8', 'int32', 'int64', 'float16', 'bfloat16', 'float32', 'float64'];

/** PyTorch's promoteTypes: the smallest type both values fit (float16 with bfloat16 is float32). */
export function promoteTypes(a: DType, b: DType): DType {
  if (a === b) return a;
  if ((a === 'float16' && b === 'bfloat16') || (a === 'bfloat16' && b === 'float16')) return 'float32';
  return ORDER.indexOf(a) > ORDER.indexOf(b) ? a : b;
}

/** The kind of a JS scalar operand (a "wrapped number" in PyTorch). */
export type ScalarKind = 'bool' | 'int' | 'float';

export function scalarKind(value: number | boolean | bigint): ScalarKind {
  if (typeof value === 'boolean') return 'bool';
  return typeof value === 'bigint' || Number.isInteger(value) ? 'int' : 'float';
}

const CATEGORY_RANK = { bool: 0, integral: 1, floating: 2 } as const;
const SCALAR_CATEGORY = { bool: 'bool', int: 'integral', float: 'floating' } as const;
/** The type a scalar of a higher category than every tensor takes (the default dtypes). */
const SCALAR_DEFAULT: Readonly<Record<ScalarKind, DType>> = { bool: 'bool', int: 'int64', float: 'float32' };

/**
 * PyTorch's result_type: tensors promote among themselves; a scalar changes the result only
 * when its category (bool < integral < floating) is above theirs, and then to that
 * category's default type (`tensor(int32) + 1.5` is float32, `tensor(float16) + 1.5` float16).
 */
export function resultType(tensors: readonly DType[], scalars: readonly ScalarKind[] = []): DType {
  let result: DType | undefined;
  for (const t of tensors) result = result === undefined ? t : promoteTypes(result, t);
  for (const s of scalars) {
    const category = SCALAR_CATEGORY[s];
    if (result === undefined || CATEGORY_RANK[category] > CATEGORY_RANK[DTYPES[result].category]) {
      result = result === undefined ? SCALAR_DEFAULT[s] : promoteTypes(result, SCALAR_DEFAULT[s]);
    }
  }
  if (result === undefined) throw invalidValue('resultType', 'at least one operand is needed');
  return result;
}

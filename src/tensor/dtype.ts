import { invalidValue } from '../errors/errors.js';
import { requireArity } from '../errors/validate.js';
import { fromBFloat16Bits, fromFloat16Bits, toBFloat16Bits, toFloat16Bits } from '../protocol/half.js';

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

/** PyTorch's other dtype names, accepted wherever a dtype is. */
export type DTypeAlias = 'float' | 'double' | 'half' | 'long' | 'int';

/** PyTorch's other names of dtypes (`torch.float`, `torch.double`, `torch.half`, `torch.long`, `torch.int`). */
export const DTYPE_ALIASES: Readonly<Record<DTypeAlias, DType>> = { float: 'float32', double: 'float64', half: 'float16', long: 'int64', int: 'int32' };

/** A dtype name or one of PyTorch's aliases, as the dtype it names; undefined for anything else. */
export function dtypeNamed(value: unknown): DType | undefined {
  if (isDType(value)) return value;
  return typeof value === 'string' && Object.hasOwn(DTYPE_ALIASES, value) ? DTYPE_ALIASES[value as DTypeAlias] : undefined;
}

export { fromBFloat16Bits, fromFloat16Bits, toBFloat16Bits, toFloat16Bits } from '../protocol/half.js';

// ---------------------------------------------------------------- type promotion

const ORDER: readonly DType[] = ['bool', 'uint8', 'int32', 'int64', 'float16', 'bfloat16', 'float32', 'float64'];

/** The inclusive range of an integer dtype's values. */
const INTEGER_RANGE: Readonly<Partial<Record<DType, readonly [bigint, bigint]>>> = {
  uint8: [0n, 255n],
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
};

/** The largest finite value of each floating dtype below float64. */
const FLOAT_MAX: Readonly<Partial<Record<DType, number>>> = { float16: 65504, bfloat16: 3.3895313892515355e38, float32: 3.4028234663852886e38 };

/**
 * `value` as an element of `dtype`, refused where PyTorch refuses it: an integer dtype takes
 * only finite values whose integer part fits ("value cannot be converted to type uint8 without
 * overflow"); bool takes anything; floating dtypes round, overflowing to infinity, except
 * for a fill value (`full`, `fill_`: PyTorch's checked Scalar conversion), which must be in range.
 */
export function checkFits(call: string, dtype: DType, value: number | boolean | bigint, fill = false): void {
  const max = FLOAT_MAX[dtype];
  if (fill && max !== undefined && typeof value === 'number' && Number.isFinite(value) && Math.abs(value) > max) {
    throw invalidValue(call, `value cannot be converted to type ${dtype} without overflow`, value);
  }
  const range = INTEGER_RANGE[dtype];
  if (range === undefined || typeof value === 'boolean') return;
  const fits = typeof value === 'bigint' ? value >= range[0] && value <= range[1] : Number.isFinite(value) && fitsNumber(Math.trunc(value), range);
  if (!fits) throw invalidValue(call, `value cannot be converted to type ${dtype} without overflow`, value);
}

function fitsNumber(n: number, [lo, hi]: readonly [bigint, bigint]): boolean {
  return n >= Number(lo) && (hi === 2n ** 63n - 1n ? n < 2 ** 63 : n <= Number(hi));
}

/**
 * A Scalar operand as the kernel of a `dtype` computation sees it (PyTorch casts it to the
 * common dtype): `uint8 < -1` compares with 255, `float16 == 0.1` with 0.0999755859375.
 */
export function castScalar(dtype: DType, value: number): number {
  switch (dtype) {
    case 'bool':
      return value !== 0 ? 1 : 0;
    case 'uint8':
      return ((Math.trunc(value) % 256) + 256) % 256;
    case 'int32':
      return Math.trunc(value) | 0;
    case 'int64':
      return Math.trunc(value);
    case 'float16':
      return fromFloat16Bits(toFloat16Bits(value));
    case 'bfloat16':
      return fromBFloat16Bits(toBFloat16Bits(value));
    case 'float32':
      return Math.fround(value);
    case 'float64':
      return value;
  }
}

/** True if a dtype name (the public promoteTypes/resultType check their arguments with it). */
function requireDType(call: string, value: unknown): DType {
  if (!isDType(value)) throw invalidValue(call, `expected a dtype (${Object.keys(DTYPES).join(', ')})`, value);
  return value;
}

/** PyTorch's promoteTypes: the smallest type both values fit (float16 with bfloat16 is float32). */
export function promoteTypes(a: DType, b: DType): DType {
  requireArity('promoteTypes', arguments, 2);
  requireDType('promoteTypes', a);
  requireDType('promoteTypes', b);
  return promoteDTypes(a, b);
}

/** @internal promoteTypes of two values known to be dtypes (an op's own operands): no checks, once per op. */
export function promoteDTypes(a: DType, b: DType): DType {
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
  requireArity('resultType', arguments, 2);
  if (!Array.isArray(tensors)) throw invalidValue('resultType', 'tensors must be an array of dtypes', tensors);
  if (!Array.isArray(scalars)) throw invalidValue('resultType', "scalars must be an array of 'bool', 'int' or 'float'", scalars);
  for (const t of tensors) requireDType('resultType', t);
  for (const k of scalars) if (!Object.hasOwn(SCALAR_CATEGORY, k)) throw invalidValue('resultType', "each scalar kind must be 'bool', 'int' or 'float'", k);
  let result: DType | undefined;
  for (const t of tensors) result = result === undefined ? t : promoteDTypes(result, t);
  for (const s of scalars as readonly ScalarKind[]) result = result === undefined ? SCALAR_DEFAULT[s] : promoteWithScalar(result, s);
  if (result === undefined) throw invalidValue('resultType', 'at least one operand is needed');
  return result;
}

/** @internal resultType of a tensor's dtype and a scalar of kind `s`, unchecked (an op's own operands). */
export function promoteWithScalar(dtype: DType, s: ScalarKind): DType {
  return CATEGORY_RANK[SCALAR_CATEGORY[s]] > CATEGORY_RANK[DTYPES[dtype].category] ? promoteDTypes(dtype, SCALAR_DEFAULT[s]) : dtype;
}

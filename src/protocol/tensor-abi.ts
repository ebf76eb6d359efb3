/**
 * The numbers the tensor kernels and their host agree on: dtype codes, op codes, limits.
 * How arguments cross is the typed kernel ABI (kernel-abi.ts); the kernels' signatures are
 * in tensor-kernel-signatures.ts.
 */

/** Element types as numbers, in PyTorch's promotion order. */
export const DTypeCode = { bool: 0, uint8: 1, int32: 2, int64: 3, float16: 4, bfloat16: 5, float32: 6, float64: 7 } as const;
export type DTypeCode = (typeof DTypeCode)[keyof typeof DTypeCode];

/** A scalar operand in place of a tensor: its dtype code slot holds this, its pointer slot the value. */
export const SCALAR_OPERAND = -1;

export const UnaryOp = {
  identity: 0,
  neg: 1,
  abs: 2,
  exp: 3,
  relu: 4,
  log: 5,
  sqrt: 6,
  tanh: 7,
  sigmoid: 8,
  reluGrad: 9,
  log1p: 10,
  expm1: 11,
  erf: 12,
  floor: 13,
  ceil: 14,
  round: 15,
  trunc: 16,
  sign: 17,
  reciprocal: 18,
  rsqrt: 19,
  gelu: 20,
  geluTanh: 21,
  silu: 22,
  isnan: 23,
  isfinite: 24,
  logicalNot: 25,
} as const;
export type UnaryOp = (typeof UnaryOp)[keyof typeof UnaryOp];

export const BinaryOp = {
  add: 0,
  sub: 1,
  mul: 2,
  div: 3,
  eq: 4,
  ne: 5,
  lt: 6,
  le: 7,
  gt: 8,
  ge: 9,
  maximum: 10,
  minimum: 11,
  pow: 12,
  /** relu's backward: grad where input > 0. */
  thresholdBackward: 13,
  hypot: 14,
  /** Python's modulo: the result takes the divisor's sign. */
  remainder: 15,
  /** C's fmod: the result takes the dividend's sign. */
  fmod: 16,
  logicalAnd: 17,
  logicalOr: 18,
  logicalXor: 19,
  /** gelu's backward (grad, input), exact and tanh-approximated; silu's. */
  geluBackward: 20,
  geluTanhBackward: 21,
  siluBackward: 22,
} as const;
export type BinaryOp = (typeof BinaryOp)[keyof typeof BinaryOp];

export const ReduceOp = { sum: 0, mean: 1, max: 2, min: 3, prod: 4 } as const;
export type ReduceOp = (typeof ReduceOp)[keyof typeof ReduceOp];

/** Most dimensions a tensor may have (PyTorch's limit too): bounds an operand's words in a launch. */
export const MAX_TENSOR_DIMS = 64;

/** Bytes per element, by dtype code. */
export const DTYPE_CODE_ITEMSIZE: readonly number[] = [1, 1, 4, 8, 2, 2, 4, 8];

/** CPU-pool pointers: buffer slot × 2^40 + byte offset into the task's buffer at that slot. */
export const HOST_SLOT_SCALE = 2 ** 40;

import { describe, expect, test } from 'vitest';
import { SimdKernels, installSimdKernels } from '../../dist/workers/simd-kernels.js';
import { binarySimd, compareSimd } from '../../dist/workers/simd-paths.js';
import { type TensorArg, reachOf } from '../../dist/src/protocol/kernel-abi.js';
import { BinaryOp, DTypeCode, SCALAR_OPERAND } from '../../dist/src/protocol/tensor-abi.js';

// Which launches the wasm binary and comparison kernels take (binarySimd and compareSimd
// answer whether they took one), with operands laid out as the host sends them: a bias
// reaches a kernel either as its own shape or already expanded to the output's, with stride 0
// on the repeated dimensions.
installSimdKernels(SimdKernels.staged());

const ARRAYS = {
  [DTypeCode.float32]: (n: number) => new Float32Array(new SharedArrayBuffer(4 * n)),
  [DTypeCode.float64]: (n: number) => new Float64Array(new SharedArrayBuffer(8 * n)),
  [DTypeCode.int32]: (n: number) => new Int32Array(new SharedArrayBuffer(4 * n)),
  [DTypeCode.bool]: (n: number) => new Uint8Array(new SharedArrayBuffer(n)),
} as const;

function operand(values: readonly number[], shape: number[], strides: number[], dtype: keyof typeof ARRAYS = DTypeCode.float32): TensorArg {
  const data = ARRAYS[dtype](Math.max(values.length, 1));
  data.set(values);
  const numel = shape.reduce((a, b) => a * b, 1);
  return { dtype, ptr: 0, value: 0, ndim: shape.length, shape, strides, numel, reach: reachOf(shape, strides), memory: data.buffer, byteOffset: 0 };
}

const [rows, cols] = [5, 6];
const x = Array.from({ length: rows * cols }, (_, i) => i * 0.25 - 3);
const bias = Array.from({ length: cols }, (_, j) => 10 * (j + 1));
const column = Array.from({ length: rows }, (_, i) => -(i + 1));
const output = () => operand(new Array<number>(rows * cols).fill(Number.NaN), [rows, cols], [cols, 1]);
const dense = () => operand(x, [rows, cols], [cols, 1]);
const valuesOf = (t: TensorArg) => Array.from(new Float32Array(t.memory, 0, t.numel));

describe('the wasm binary kernels take broadcast operands in place', () => {
  test('a row bias expanded to the output shape (stride 0 over the batch) takes the row kernel', () => {
    const out = output();
    expect(binarySimd(BinaryOp.add, out, dense(), operand(bias, [rows, cols], [0, 1]), 1)).toBe(true);
    expect(valuesOf(out)).toEqual(x.map((v, i) => Math.fround(v + bias[i % cols]!)));
  });

  test('a row bias of its own shape, and a column expanded along the rows, take the broadcast kernels', () => {
    const byRow = output();
    expect(binarySimd(BinaryOp.mul, byRow, dense(), operand(bias, [cols], [1]), 1)).toBe(true);
    expect(valuesOf(byRow)).toEqual(x.map((v, i) => Math.fround(v * bias[i % cols]!)));
    const byColumn = output();
    expect(binarySimd(BinaryOp.sub, byColumn, dense(), operand(column, [rows, cols], [1, 0]), 1)).toBe(true);
    expect(valuesOf(byColumn)).toEqual(x.map((v, i) => Math.fround(v - column[Math.floor(i / cols)]!)));
  });

  test('bias + x (the broadcast operand first) is taken for commutative ops and left to the general kernel otherwise', () => {
    const sum = output();
    expect(binarySimd(BinaryOp.add, sum, operand(bias, [rows, cols], [0, 1]), dense(), 1)).toBe(true);
    expect(valuesOf(sum)).toEqual(x.map((v, i) => Math.fround(bias[i % cols]! + v)));
    expect(binarySimd(BinaryOp.sub, output(), operand(bias, [rows, cols], [0, 1]), dense(), 1)).toBe(false);
    expect(binarySimd(BinaryOp.div, output(), operand(bias, [cols], [1]), dense(), 1)).toBe(false);
    // alpha scales the second operand: swapped, it would scale the wrong one.
    expect(binarySimd(BinaryOp.add, output(), operand(bias, [rows, cols], [0, 1]), dense(), 2)).toBe(false);
  });

  test('an operand repeated in a pattern neither row- nor column-wise stays on the general kernel', () => {
    const strided = operand(x, [rows, cols], [0, 0]);
    expect(binarySimd(BinaryOp.add, output(), dense(), operand(x, [rows, cols], [1, rows]), 1)).toBe(false);
    expect(binarySimd(BinaryOp.add, output(), strided, strided, 1)).toBe(false);
  });
});

describe('the wasm comparison kernels', () => {
  const n = 21;
  const xs = Array.from({ length: n }, (_, i) => i - 10);
  const ys = Array.from({ length: n }, (_, i) => 10 - i);
  const mask = () => operand(new Array<number>(n).fill(7), [n], [1], DTypeCode.bool);
  const scalar = (value: number): TensorArg => ({ ...operand([], [], []), dtype: SCALAR_OPERAND, value, reach: 0 });

  test('take dense float operands of one dtype, or one and a scalar exact in float32, writing bytes 0 and 1', () => {
    for (const dtype of [DTypeCode.float32, DTypeCode.float64] as const) {
      const out = mask();
      expect(compareSimd(BinaryOp.lt, out, operand(xs, [n], [1], dtype), operand(ys, [n], [1], dtype))).toBe(true);
      expect(Array.from(new Uint8Array(out.memory, 0, n))).toEqual(xs.map((x, i) => Number(x < ys[i]!)));
      const byScalar = mask();
      expect(compareSimd(BinaryOp.ge, byScalar, operand(xs, [n], [1], dtype), scalar(0.5))).toBe(true);
      expect(Array.from(new Uint8Array(byScalar.memory, 0, n))).toEqual(xs.map((x) => Number(x >= 0.5)));
    }
  });

  test('leave integer operands, mixed dtypes, broadcasts and scalars that float32 would round to the JS kernel', () => {
    expect(compareSimd(BinaryOp.eq, mask(), operand(xs, [n], [1], DTypeCode.int32), operand(ys, [n], [1], DTypeCode.int32))).toBe(false);
    expect(compareSimd(BinaryOp.eq, mask(), operand(xs, [n], [1]), operand(ys, [n], [1], DTypeCode.float64))).toBe(false);
    expect(compareSimd(BinaryOp.eq, mask(), operand(xs, [n], [1]), operand(ys, [n], [0]))).toBe(false);
    expect(compareSimd(BinaryOp.gt, mask(), operand(xs, [n], [1]), scalar(0.1))).toBe(false);
    expect(compareSimd(BinaryOp.gt, mask(), operand(xs, [n], [1], DTypeCode.float64), scalar(0.1))).toBe(true);
  });
});

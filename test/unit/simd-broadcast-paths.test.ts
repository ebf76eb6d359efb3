import { describe, expect, test } from 'vitest';
import { SimdKernels, installSimdKernels } from '../../dist/workers/simd-kernels.js';
import { binarySimd } from '../../dist/workers/simd-paths.js';
import { type TensorArg, reachOf } from '../../dist/src/protocol/kernel-abi.js';
import { BinaryOp, DTypeCode } from '../../dist/src/protocol/tensor-abi.js';

// Which launches the wasm binary kernels take (binarySimd answers whether it took one), with
// operands laid out as the host sends them: a bias reaches a kernel either as its own shape
// or already expanded to the output's, with stride 0 on the repeated dimensions.
installSimdKernels(SimdKernels.staged());

function operand(values: readonly number[], shape: number[], strides: number[]): TensorArg {
  const data = new Float32Array(new SharedArrayBuffer(Math.max(values.length, 1) * 4));
  data.set(values);
  const numel = shape.reduce((a, b) => a * b, 1);
  return { dtype: DTypeCode.float32, ptr: 0, value: 0, ndim: shape.length, shape, strides, numel, reach: reachOf(shape, strides), memory: data.buffer, byteOffset: 0 };
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

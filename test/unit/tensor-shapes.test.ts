import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { broadcastShapes, checkDim, checkShape, contiguousStrides, expandStrides, isContiguous, numel, viewStrides } from '../../src/tensor/shape.js';

const shapeArb = fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 4 });

/** Every shape with the same element count, built from the prime factors of `n`. */
function regroup(n: number, parts: number): number[] {
  const out: number[] = [];
  let rest = n;
  for (let i = 0; i < parts - 1; i++) {
    let d = 1;
    for (const p of [2, 3]) if (rest % p === 0 && (i + p) % 2 === 0) d = p;
    out.push(d);
    rest /= d;
  }
  out.push(rest);
  return out;
}

describe('shapes and strides', () => {
  it('lays contiguous tensors out row-major', () => {
    expect(contiguousStrides([2, 3, 4])).toEqual([12, 4, 1]);
    expect(contiguousStrides([])).toEqual([]);
    expect(isContiguous([2, 3], [3, 1])).toBe(true);
    expect(isContiguous([3, 2], [1, 3])).toBe(false); // a transpose
    expect(isContiguous([2, 1, 3], [3, 99, 1])).toBe(true); // size-1 dims may have any stride
    expect(numel([2, 0, 3])).toBe(0);
  });

  it('views a contiguous tensor as any shape of the same size, with contiguous strides', () => {
    fc.assert(
      fc.property(shapeArb, fc.integer({ min: 1, max: 4 }), (shape, parts) => {
        const target = regroup(numel(shape), parts);
        expect(viewStrides(shape, contiguousStrides(shape), target)).toEqual(contiguousStrides(target));
      }),
      { numRuns: 300 },
    );
  });

  it('refuses views that would need a copy, and allows those that split or merge compatible dims', () => {
    expect(viewStrides([3, 2], [1, 3], [6])).toBeUndefined(); // flattening a transpose
    expect(viewStrides([3, 2], [1, 3], [3, 2, 1])).toEqual([1, 3, 3]); // adding a size-1 dim is fine
    expect(viewStrides([4, 6], [12, 1], [4, 2, 3])).toEqual([12, 3, 1]); // a slice's rows stay split-able
    expect(viewStrides([4, 6], [12, 1], [24])).toBeUndefined(); // rows are 12 apart: not one run
    expect(viewStrides([], [], [1, 1])).toEqual([1, 1]);
  });

  it('broadcasts as numpy does, and expands with stride 0', () => {
    expect(broadcastShapes('add', [3, 1], [1, 4])).toEqual([3, 4]);
    expect(broadcastShapes('add', [2, 3, 4], [4])).toEqual([2, 3, 4]);
    expect(broadcastShapes('add', [], [2])).toEqual([2]);
    expect(() => broadcastShapes('add', [2, 3], [4, 3])).toThrow(/^add: shapes \[2,3\] and \[4,3\] cannot be broadcast together/);
    expect(expandStrides('expand', [3, 1], [1, 1], [2, 3, 4])).toEqual([0, 1, 0]);
    expect(() => expandStrides('expand', [3, 2], [2, 1], [3, 4])).toThrow(/^expand: cannot expand dimension 1 of size 2 to 4/);
  });

  it('checks shapes and dims, inferring one -1', () => {
    expect(checkShape('view', [2, -1], 12)).toEqual([2, 6]);
    expect(() => checkShape('view', [5, -1], 12)).toThrow(/^view: shape \[5,-1\] is invalid for 12 elements/);
    expect(() => checkShape('view', [-1, -1], 12)).toThrow(/only one dimension can be -1/);
    expect(() => checkShape('empty', [2, -1])).toThrow(/^empty: shape\[1\] must be an integer >= 0/);
    expect(() => checkShape('empty', 'x')).toThrow(/^empty: shape must be an array/);
    expect(checkDim('sum', -1, 3)).toBe(2);
    expect(() => checkDim('sum', 3, 3)).toThrow(/^sum: dim must be an integer in \[-3, 2\]/);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type DType,
  fromBFloat16Bits,
  fromFloat16Bits,
  promoteTypes,
  resultType,
  scalarKind,
  toBFloat16Bits,
  toFloat16Bits,
} from '../../src/tensor/dtype.js';

const formats = [
  { name: 'float16', to: toFloat16Bits, from: fromFloat16Bits, nan: 0x7e00, inf: 0x7c00, max: 65504 },
  { name: 'bfloat16', to: toBFloat16Bits, from: fromBFloat16Bits, nan: 0x7fc0, inf: 0x7f80, max: 3.3895313892515355e38 },
] as const;

describe('16-bit floats', () => {
  it('encode known values exactly', () => {
    expect([1, -2, 65504, 65519, 65520, 2 ** -24, 2 ** -25, 3 * 2 ** -25, 2 ** -14, 0.1].map(toFloat16Bits)).toEqual([
      0x3c00, 0xc000, 0x7bff, 0x7bff, 0x7c00, 0x0001, 0x0000, 0x0002, 0x0400, 0x2e66,
    ]);
    expect([1, 3.140625, -0.5, 1 + 2 ** -8, 1 + 3 * 2 ** -8].map(toBFloat16Bits)).toEqual([0x3f80, 0x4049, 0xbf00, 0x3f80, 0x3f82]);
    expect(toFloat16Bits(-0)).toBe(0x8000);
    expect(fromFloat16Bits(0x7bff)).toBe(65504);
  });

  for (const f of formats) {
    it(`${f.name}: every non-NaN bit pattern round-trips; NaN and infinities are kept`, () => {
      for (let bits = 0; bits < 0x10000; bits++) {
        const v = f.from(bits);
        if (Number.isNaN(v)) continue;
        if (f.to(v) !== bits) throw new Error(`${f.name} 0x${bits.toString(16)} → ${v} → 0x${f.to(v).toString(16)}`);
      }
      expect(f.to(Number.NaN)).toBe(f.nan);
      expect(Number.isNaN(f.from(f.nan))).toBe(true);
      expect(f.to(Infinity)).toBe(f.inf);
      expect(f.to(-Infinity)).toBe(f.inf | 0x8000);
    });

    it(`${f.name}: rounds any double to the nearest value, ties to even`, () => {
      fc.assert(
        fc.property(fc.double({ noNaN: true, min: -f.max, max: f.max }), (x) => {
          const bits = f.to(x);
          const v = f.from(bits);
          // The neighbours on either side in value order, same sign.
          for (const n of [bits - 1, bits + 1]) {
            if ((n & 0x7fff) > (f.inf & 0x7fff) || n < 0 || n > 0xffff || (n & 0x8000) !== (bits & 0x8000)) continue;
            const w = f.from(n);
            if (!Number.isFinite(w)) continue;
            const dv = Math.abs(x - v);
            const dw = Math.abs(x - w);
            expect(dv <= dw).toBe(true);
            if (dv === dw) expect(bits & 1).toBe(0); // a tie goes to the even mantissa
          }
        }),
        { numRuns: 2000 },
      );
    });
  }
});

describe('type promotion', () => {
  it('promotes as PyTorch does', () => {
    const cases: [DType, DType, DType][] = [
      ['bool', 'uint8', 'uint8'],
      ['uint8', 'int32', 'int32'],
      ['int32', 'int64', 'int64'],
      ['int64', 'float16', 'float16'],
      ['float16', 'bfloat16', 'float32'],
      ['bfloat16', 'float32', 'float32'],
      ['float32', 'float64', 'float64'],
      ['bool', 'bool', 'bool'],
    ];
    for (const [a, b, r] of cases) {
      expect(promoteTypes(a, b)).toBe(r);
      expect(promoteTypes(b, a)).toBe(r);
    }
  });

  it('lets a scalar raise the category only, to its default type', () => {
    expect(resultType(['int32'], [scalarKind(1.5)])).toBe('float32');
    expect(resultType(['float16'], [scalarKind(1.5)])).toBe('float16');
    expect(resultType(['uint8'], [scalarKind(300)])).toBe('uint8');
    expect(resultType(['bool'], [scalarKind(2)])).toBe('int64');
    expect(resultType(['bool'], [scalarKind(true)])).toBe('bool');
    expect(resultType(['float64', 'int32'])).toBe('float64');
    expect(resultType([], ['float'])).toBe('float32');
    expect(() => resultType([])).toThrow(/resultType: at least one operand is needed/);
  });
});

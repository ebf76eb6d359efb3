import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ABSENT_OPERAND, ArgumentDecoder, ArgumentWords, KernelArgumentError, Param, type TensorArg, type TensorOperand, accessesOf, encodeArguments, kernelSignature } from '../../src/protocol/kernel-abi.js';
import { DTypeCode, MAX_TENSOR_DIMS } from '../../src/protocol/tensor-abi.js';

const SIG = kernelSignature('k', { op: Param.int, out: Param.output, extra: Param.optionalOutput, b: Param.inputOrScalar, xs: Param.inputs, alpha: Param.float });
const LAYOUT = { dtype: (o: TensorOperand) => o.dtype, ptr: (o: TensorOperand) => o.ptr, shape: (o: TensorOperand) => o.shape, strides: (o: TensorOperand) => o.strides };
const bindAll = (arg: TensorArg) => void (arg.memory = new ArrayBuffer(8));

function encode(args: Parameters<typeof encodeArguments<typeof SIG.params, TensorOperand>>[1]): Float64Array {
  const words = new ArgumentWords();
  encodeArguments(SIG, args, LAYOUT, words);
  return words.data.slice(0, words.length);
}

const operand = fc.integer({ min: 0, max: 5 }).chain((ndim) =>
  fc.record({
    dtype: fc.constantFrom(...Object.values(DTypeCode)),
    ptr: fc.integer({ min: 0, max: 2 ** 40 }),
    shape: fc.array(fc.integer({ min: 0, max: 9 }), { minLength: ndim, maxLength: ndim }),
    strides: fc.array(fc.integer({ min: 0, max: 99 }), { minLength: ndim, maxLength: ndim }),
  }),
);

describe('the typed kernel ABI', () => {
  test('what the host encodes, the executing side decodes: every argument, by name', () => {
    fc.assert(
      fc.property(operand, fc.option(operand, { nil: undefined }), fc.oneof(operand, fc.double({ noNaN: true })), fc.array(operand, { maxLength: 40 }), fc.integer(), fc.double({ noNaN: true }), (out, extra, b, xs, op, alpha) => {
        const words = encode({ op, out, extra, b, xs, alpha });
        const bound: string[] = [];
        const args = new ArgumentDecoder().decode(SIG, words, words.length, (arg, name) => void bound.push(name));
        const plain = (t: TensorArg) => ({ dtype: t.dtype, ptr: t.ptr, shape: [...t.shape], strides: [...t.strides] });
        expect(args.op).toBe(op);
        expect(args.alpha).toBe(alpha);
        expect(plain(args.out)).toEqual(out);
        if (extra === undefined) expect(args.extra.dtype).toBe(ABSENT_OPERAND);
        else expect(plain(args.extra)).toEqual(extra);
        if (typeof b === 'number') expect(args.b.value).toBe(b);
        else expect(plain(args.b)).toEqual(b);
        expect(args.xs.map(plain)).toEqual(xs);
        // Every tensor given is bound (bounds-checked) exactly once.
        expect(bound).toEqual(['out', ...(extra === undefined ? [] : ['extra']), ...(typeof b === 'number' ? [] : ['b']), ...xs.map((_, i) => `xs[${i}]`)]);
      }),
    );
  });

  test("a tensor's reach is computed by the decoder from its shape and strides, not taken from the host", () => {
    const t = { dtype: DTypeCode.float32, ptr: 64, shape: [2, 3], strides: [10, 2] };
    const words = encode({ op: 0, out: t, extra: undefined, b: 1, xs: [{ ...t, shape: [0, 3] }], alpha: 1 });
    const args = new ArgumentDecoder().decode(SIG, words, words.length, bindAll);
    expect([args.out.numel, args.out.reach]).toEqual([6, 15]);
    expect([args.xs[0]!.numel, args.xs[0]!.reach]).toEqual([0, 0]);
    expect(accessesOf(SIG, { op: 0, out: t, extra: undefined, b: 1, xs: [t], alpha: 1 }, LAYOUT)).toEqual({ reads: [[64, 60]], writes: [[64, 60]] });
  });

  test('a malformed block is refused, never read past its end', () => {
    const t = { dtype: DTypeCode.float32, ptr: 64, shape: [2], strides: [1] };
    const good = encode({ op: 0, out: t, extra: undefined, b: t, xs: [t, t], alpha: 1 });
    const decode = (words: Float64Array, count = words.length) => new ArgumentDecoder().decode(SIG, words, count, bindAll);
    expect(() => decode(good, good.length - 1)).toThrow(KernelArgumentError);
    expect(() => decode(Float64Array.of(...good, 0))).toThrow(/has 27 words, the signature of k reads 26/);
    const badDtype = good.slice();
    badDtype[1] = 99;
    expect(() => decode(badDtype)).toThrow(/out: 99 is not a dtype code/);
    const negativeStride = good.slice();
    negativeStride[5] = -1;
    expect(() => decode(negativeStride)).toThrow(/out: stride -1 of dimension 0/);
    const tooDeep = good.slice();
    tooDeep[3] = MAX_TENSOR_DIMS + 1;
    expect(() => decode(tooDeep)).toThrow(/out: 65 dimensions/);
    const scalarWhereTensor = good.slice();
    scalarWhereTensor[1] = -1;
    expect(() => decode(scalarWhereTensor)).toThrow(/out: -1 is not a dtype code/);
  });
});

describe('the built-in module', () => {
  test('exports exactly the kernels the protocol lists, with the same signatures (the host launches them without asking a worker)', async () => {
    const { BUILTIN_KERNELS } = await import('../../src/protocol/tensor-kernel-signatures.js');
    const { signatureOf } = await import('../../src/protocol/kernel-abi.js');
    const mod = (await import('../../workers/builtin-kernels.js')) as Record<string, unknown>;
    const exported = Object.keys(mod).filter((k) => typeof mod[k] === 'function').sort();
    expect(BUILTIN_KERNELS.map((k) => k.name)).toEqual(exported);
    for (const k of BUILTIN_KERNELS) expect([k.name, signatureOf(mod[k.name]) ?? null]).toEqual([k.name, k.signature]);
  });
});

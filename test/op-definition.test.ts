import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as o from '../dist/src/index.js';
import { ErrorCode, Tensor, callOp, kernelsOf, operatorNames } from '../dist/src/index.js';
import { definedOps } from '../dist/src/ops/define-op.js';
import { opReference } from '../dist/src/ops/op-reference.js';
import { expectCode, useTensorRuntime } from './helpers.js';

// One op, one place: a defineOp definition gives an op its overloads, in-place and out=
// forms, its kernel on every backend, its derivatives by argument name, its method and its
// reference row. hypot was added as one definition (and one line of kernel arithmetic).
useTensorRuntime({ deviceCount: 1 });

describe('one definition per op', () => {
  it.each(['openreg', 'cpu', 'meta'])('gives hypot its method, in-place and out= forms and a kernel on %s', async (device) => {
    expect(operatorNames()).toEqual(expect.arrayContaining(['aten::hypot', 'aten::hypot_', 'aten::hypot.out']));
    for (const name of ['hypot', 'hypot_', 'hypot.out']) expect(kernelsOf(name)).toEqual(expect.arrayContaining(['openreg', 'cpu', 'meta']));
    const a = o.tensor([3, 5, -8], { device, dtype: 'float32' });
    const b = o.tensor([4, 12, 15], { device, dtype: 'float32' });
    const r = a.hypot(b);
    expect([r.dtype, r.shape]).toEqual(['float32', [3]]);
    const out = o.empty([3], { device });
    expect(callOp('hypot.out', a, b, out)).toBe(out);
    const c = a.clone();
    expect(c.hypot_(b)).toBe(c);
    if (device === 'meta') return;
    for (const t of [r, out, c]) expect(await t.toArray()).toEqual([5, 13, 17]);
  });

  it("gives hypot PyTorch's gradient for both arguments", async () => {
    const a = o.tensor([3, 5], { device: 'openreg', dtype: 'float32', requiresGrad: true });
    const b = o.tensor([4, 12], { device: 'openreg', dtype: 'float32', requiresGrad: true });
    const r = a.hypot(b);
    expect(r.gradFn?.name).toBe('hypotBackward');
    r.sum().backward();
    const close = (xs: number[], ys: number[]) => xs.forEach((x, i) => expect(x).toBeCloseTo(ys[i]!, 6));
    close((await a.grad!.toArray()) as number[], [3 / 5, 5 / 13]);
    close((await b.grad!.toArray()) as number[], [4 / 5, 12 / 13]);
  });

  it('refuses what PyTorch refuses, naming the call the same way in every form', () => {
    const i = o.tensor([3, 4], { dtype: 'int32' });
    expect(expectCode(() => i.hypot(i), ErrorCode.INVALID_VALUE).message).toBe('hypot: hypot is not implemented for int32 tensors');
    expect(expectCode(() => o.tensor([1.5]).hypot_(o.tensor([1, 2])), ErrorCode.INVALID_VALUE).message).toMatch(/^hypot_: out has shape \[1\] but the result has shape \[2\]/);
    expect(expectCode(() => o.tensor([1.5]).hypot(2 as never), ErrorCode.INVALID_VALUE).message).toMatch(/^hypot: aten::hypot: argument 'other' must be a Tensor, got 2/);
    const t = o.tensor([1.5]);
    expect(expectCode(() => Reflect.apply(t.hypot, t, [o.tensor([1]), 3]), ErrorCode.INVALID_VALUE).message).toBe('hypot: takes at most 1 argument, got 2');
  });

  it("binds arguments to the schema once: kernels see the schema's defaults, keyword-only arguments included", async () => {
    const a = o.tensor([1, 2]);
    const b = o.tensor([10, 20]);
    // alpha omitted, undefined, or given: the kernel gets the schema's alpha=1 unless told otherwise.
    expect(await (callOp('add.Tensor', a, b) as Tensor).toArray()).toEqual([11, 22]);
    expect(await a.add(b, undefined).toArray()).toEqual([11, 22]);
    expect(await a.add(b, 2).toArray()).toEqual([21, 42]);
    expect(await (callOp('add.out', a, b, undefined, o.empty([2])) as Tensor).toArray()).toEqual([11, 22]);
    // The same bad argument is reported in the same words through a method and through callOp.
    const viaMethod = expectCode(() => a.add(b, 'x' as never), ErrorCode.INVALID_VALUE).message;
    const viaCallOp = expectCode(() => callOp('add.Tensor', a, b, 'x'), ErrorCode.INVALID_VALUE).message;
    expect(viaMethod.replace(/^add: /, '')).toBe(viaCallOp.replace(/^callOp: /, ''));
  });
});

describe('the registry is the source of methods and docs', () => {
  it("installs every defined op's methods on Tensor, and no method is also written by hand", () => {
    for (const d of definedOps()) {
      for (const method of [d.method, d.inplaceMethod].filter((m): m is string => m !== undefined)) {
        const fn = Object.getOwnPropertyDescriptor(Tensor.prototype, method)?.value as { name: string } | undefined;
        expect([method, fn?.name]).toEqual([method, method]);
      }
      for (const form of [...d.functional, ...d.inplace, ...(d.out === undefined ? [] : [d.out])]) expect(operatorNames()).toContain(form);
    }
  });

  it('docs/ops.md is what the definitions say (npm run docs:ops rewrites it)', () => {
    expect(readFileSync(new URL('../docs/ops.md', import.meta.url), 'utf8')).toBe(opReference());
  });
});

describe('cat: a function variant with a Tensor[] argument of any length', () => {
  it.each(['openreg', 'cpu', 'meta'])('joins 700 tensors in one launch on %s (their argument block goes through device memory on openreg)', async (device) => {
    const parts = Array.from({ length: 700 }, (_, i) => o.full([1, 2], i, { device, dtype: 'float32' }));
    const joined = o.cat(parts);
    expect([joined.shape, joined.dtype]).toEqual([[700, 2], 'float32']);
    if (device === 'meta') return;
    const values = (await joined.toArray()) as number[][];
    expect(values.every((row, i) => row[0] === i && row[1] === i)).toBe(true);
  });

  it("gives each tensor of the list its slice of the gradient, in its own dtype", async () => {
    const a = o.tensor([[1, 2], [3, 4]], { device: 'openreg', dtype: 'float32', requiresGrad: true });
    const b = o.tensor([[5, 6]], { device: 'openreg', dtype: 'float64', requiresGrad: true });
    const c = o.cat([a, b]);
    expect([c.dtype, c.gradFn?.name]).toEqual(['float64', 'catBackward']);
    c.mul(o.tensor([[1, 1], [2, 2], [3, 3]], { device: 'openreg', dtype: 'float64' })).sum().backward();
    expect([a.grad!.dtype, await a.grad!.toArray()]).toEqual(['float32', [[1, 1], [2, 2]]]);
    expect([b.grad!.dtype, await b.grad!.toArray()]).toEqual(['float64', [[3, 3]]]);
  });
});

describe('binding defaults', () => {
  it('fills list defaults of bools and strings from the schema, and repeats one int for an int[N]', async () => {
    using lib = new o.Library('bindingdefaults');
    lib.define("pick(Tensor x, bool[2] mask=[True, False], str[] names=['a', 'b'], int[2] k=1) -> Tensor");
    let seen: unknown[] = [];
    lib.impl('pick', 'cpu', (x: Tensor, mask: unknown, names: unknown, k: unknown) => ((seen = [mask, names, k]), x.clone()));
    callOp('bindingdefaults::pick', o.tensor([1]));
    expect(seen).toEqual([[true, false], ['a', 'b'], [1, 1]]);
    callOp('bindingdefaults::pick', o.tensor([1]), [false, true], ['z'], 3);
    expect(seen).toEqual([[false, true], ['z'], [3, 3]]);
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as o from '../dist/src/index.js';
import { ErrorCode, Tensor, callOp, operatorNames } from '../dist/src/index.js';
import { definedOps } from '../dist/src/ops/define-op.js';
import { opReference } from '../dist/src/ops/op-reference.js';
import { expectCode, useTensorRuntime } from './helpers.js';

// One op, one place: a defineOp definition gives an op its overloads, in-place and out=
// forms, its kernel on every backend, its derivatives by argument name, its method and its
// reference row.
useTensorRuntime({ deviceCount: 1 });

describe('one definition per op', () => {
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

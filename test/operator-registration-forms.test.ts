import { readFileSync } from 'node:fs';
import { definedOps } from '../dist/src/ops/define-op.js';
import { describe, expect, it } from 'vitest';
import {
  ErrorCode,
  Library,
  Tensor,
  callOp,
  empty,
  kernelsOf,
  operatorNames,
  randn,
  registerStub,
  tensor,
  zeros,
} from '../dist/src/index.js';
import { expectCode, expectRejectCode, useTensorRuntime } from './helpers.js';

// Every registration form OpenReg shows: native kernels, the stub, custom ops with meta,
// per-op and global CPU fallbacks, and the blocklist (test_ops.py's STUB and fallback cases).
useTensorRuntime({ deviceCount: 2 });

describe('the stub form', () => {
  it('abs routes through abs.out to the openreg abs_stub, also into strided out= views', async () => {
    const xCpu = randn([2, 2, 3]);
    const x = xCpu.to('openreg');
    expect(await x.abs().data()).toEqual(await xCpu.abs().data());
    const oCpu = randn([2, 2, 6]);
    const o = oCpu.to('openreg');
    callOp('abs.out', xCpu, oCpu.slice(2, 0, 6, 2));
    callOp('abs.out', x, o.slice(2, 0, 6, 2));
    expect(await o.data()).toEqual(await oCpu.data());
  });

  it('a stub with no kernel for a backend is the not-implemented error; a registered one runs', async () => {
    expect(expectCode(() => registerStub('abs_stub', 'openreg', () => undefined), ErrorCode.INVALID_VALUE).message).toMatch(/already has a kernel/);
    const calls: string[] = [];
    const dispose = registerStub('abs_stub', 'meta', (out: Tensor) => void calls.push(out.device.type));
    try {
      callOp('abs.out', empty([2], { device: 'meta' }), empty([2], { device: 'meta' }));
    } finally {
      dispose();
    }
    expect(calls).toEqual([]); // meta computes shapes only: the stub is not reached
  });
});

describe('custom operators', () => {
  it('define, impl for openreg and meta, and call through the dispatcher', async () => {
    using lib = new Library('myns');
    lib.define('custom_abs(Tensor input) -> Tensor');
    lib.impl('custom_abs', 'openreg', (x: Tensor) => x.abs());
    lib.impl('custom_abs', 'meta', (x: Tensor) => empty(x.shape, { device: 'meta', dtype: x.dtype }));
    const y = callOp('myns::custom_abs', tensor([-1, 2, -3], { dtype: 'float32', device: 'openreg:1' })) as Tensor;
    expect([y.device.toString(), await y.toArray()]).toEqual(['openreg:1', [1, 2, 3]]);
    const m = callOp('myns::custom_abs', empty([3, 5], { device: 'meta' })) as Tensor;
    expect([m.device.type, m.shape]).toEqual(['meta', [3, 5]]);
    expect(kernelsOf('myns::custom_abs').sort()).toEqual(['meta', 'openreg']);
  });

  it('a custom op with no cpu kernel falls back nowhere on cpu; dispose removes the op', () => {
    const lib = new Library('tmpns');
    lib.define('only_openreg(Tensor x) -> Tensor');
    lib.impl('only_openreg', 'openreg', (x: Tensor) => x.clone());
    expectCode(() => callOp('tmpns::only_openreg', zeros([2])), ErrorCode.NOT_SUPPORTED);
    lib.dispose();
    expectCode(() => callOp('tmpns::only_openreg', zeros([2])), ErrorCode.INVALID_VALUE);
  });

  it('rejects schemas outside the namespace and bad keys', () => {
    using lib = new Library('ns2');
    expectCode(() => lib.define('other::op(Tensor x) -> Tensor'), ErrorCode.INVALID_VALUE);
    lib.define('op(Tensor x) -> Tensor');
    expectCode(() => lib.impl('op', 'cuda' as never, () => undefined), ErrorCode.INVALID_VALUE);
  });
});

describe('CPU fallbacks', () => {
  it('hypot is bound to the CPU fallback by name and matches the CPU (test_tensor_type_fallback, on an op off the training path)', async () => {
    expect(kernelsOf('hypot')).toContain('openreg'); // bound by name to the fallback
    const x = tensor([[3, 5, 8], [6, 0, 1]], { dtype: 'float32' }).to('openreg');
    const y = tensor([4, 12, 15], { dtype: 'float32' }).to('openreg');
    const z = x.hypot(y);
    expect(z.device.toString()).toBe('openreg:0');
    expect(await z.toArray()).toEqual([[5, 13, 17], [Math.fround(Math.hypot(6, 4)), 12, Math.fround(Math.hypot(1, 15))]]);
  });

  it('ops with no openreg kernel run through the global fallback, in stream order with native ops', async () => {
    expect(kernelsOf('pow.Tensor_Tensor')).not.toContain('openreg');
    const x = tensor([0, 0.5, 1], { dtype: 'float32', device: 'openreg:1' });
    const e = tensor([2, 3, 0.5], { dtype: 'float32', device: 'openreg:1' });
    // native → fallback → native → fallback, all enqueued before any read
    const y = x.mul(2).pow(e).add(1).pow(e);
    const f = Math.fround;
    const expected = [0, 0.5, 1].map((v, i) => f(f(f(f(v * 2) ** [2, 3, 0.5][i]!) + 1) ** [2, 3, 0.5][i]!));
    expect(Array.from((await y.data()) as Float32Array)).toEqual(expected);
  });

  it('the fallback writes back arguments the op writes (out=)', async () => {
    const x = tensor([1, 4, 9], { dtype: 'float32', device: 'openreg' });
    const out = zeros([3], { device: 'openreg' });
    const ptr = out.dataPtr();
    const r = callOp('hypot.out', x, zeros([3], { device: 'openreg' }), out) as Tensor;
    expect(r).toBe(out);
    expect(out.dataPtr()).toBe(ptr);
    expect(await out.toArray()).toEqual([1, 4, 9]);
  });

  it('a blocklisted op fails with the coded not-implemented error instead of falling back', async () => {
    const x = tensor([1, 2], { dtype: 'float32', device: 'openreg' });
    const error = expectCode(() => callOp('openreg::pin_memory', x), ErrorCode.NOT_SUPPORTED);
    expect(error.message).toBe("callOp: Operator 'openreg::pin_memory' is not implemented for device openreg");
    expect(await x.pow(x).toArray()).toEqual([1, 4]); // pow falls back to the CPU like any op without a kernel
  });

  it('a fallback op failing on the CPU surfaces as the device error on the next read', async () => {
    using lib = new Library('failns');
    lib.define('boom(Tensor x) -> Tensor');
    lib.impl('boom', 'cpu', () => {
      throw new Error('cpu kernel failed');
    });
    const x = zeros([2], { device: 'openreg:1' });
    expect(() => callOp('failns::boom', x)).toThrow('cpu kernel failed');
    // Validation errors are synchronous, and the device stays usable.
    expect(await x.add(1).toArray()).toEqual([1, 1]);
  });

  it('sync reads behind a pending fallback report a coded error rather than hang', async () => {
    const x = tensor([1, 4], { dtype: 'float32', device: 'openreg' });
    const y = x.pow(tensor([0.5, 0.5], { dtype: 'float32', device: 'openreg' }));
    expectCode(() => y.dataSync(), ErrorCode.NOT_PERMITTED);
    expect(await y.toArray()).toEqual([1, 2]);
  });

  it('cpu tensors computed on the pool are read with the Promise forms', async () => {
    const c = tensor([1, 2, 3], { dtype: 'float32' }).mul(2);
    expectCode(() => c.dataSync(), ErrorCode.NOT_READY);
    expect(await c.toArray()).toEqual([2, 4, 6]);
    expect(c.dataSync()).toEqual(new Float32Array([2, 4, 6]));
    await expectRejectCode(Promise.resolve().then(() => callOp('nope::op', c)), ErrorCode.INVALID_VALUE);
  });
});

describe('the op table in the README', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const table = readme.slice(readme.indexOf('<!-- op-table'), readme.indexOf('<!-- /op-table -->'));
  const rows = new Map<string, string[]>();
  for (const line of table.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| openreg'))) {
    const [kind, ops] = line.split('|').slice(1, 3).map((c) => c.trim()) as [string, string];
    // Only the op names: parenthesized notes and the prose after a dash are left out.
    rows.set(kind, [...ops.split('—')[0]!.replace(/\([^)]*\)/g, '').matchAll(/`([\w:.]+)`/g)].map((m) => m[1]!));
  }

  it('lists every builtin operator exactly once, in the category the dispatcher has it in', () => {
    // The ops defined with defineOp are listed by docs/ops.md, which is written from their definitions.
    const defined = definedOps().flatMap((d) => [...d.functional, ...d.inplace, ...(d.out === undefined ? [] : [d.out])].map((n) => n.replace(/^aten::/, '')));
    const listed = [...[...rows.values()].flat(), ...defined];
    const builtin = operatorNames().filter((n) => n.startsWith('aten::') || n.startsWith('openreg::'));
    const name = (q: string) => q.replace(/^aten::/, '');
    const internal = ['openreg::backward'];
    expect(builtin.map(name).filter((n) => !listed.includes(n) && !internal.includes(n))).toEqual([]);
    expect(listed.filter((n, i) => listed.indexOf(n) !== i)).toEqual([]);
    for (const op of rows.get('native')!) expect([op, kernelsOf(op).includes('openreg')]).toEqual([op, true]);
    for (const d of definedOps()) {
      for (const op of d.functional) {
        const overload = op.split('.')[1] ?? '';
        const backends = d.overloadBackends?.[overload] ?? d.backends;
        // Native where the definition says so; elsewhere the fallback (openreg's per-op one for hypot).
        if (backends === undefined) expect([op, kernelsOf(op).includes('openreg')]).toEqual([op, true]);
        else expect([op, kernelsOf(op).includes('cpu'), backends.includes('openreg')]).toEqual([op, true, false]);
      }
    }
    for (const op of rows.get('global fallback')!) expect([op, kernelsOf(op).includes('openreg'), kernelsOf(op).includes('cpu')]).toEqual([op, false, true]);
    const t = tensor([1], { device: 'openreg' });
    // Each blocklisted op with the tensor arguments its schema takes (pin_memory takes one).
    for (const op of rows.get('blocklisted')!) expectCode(() => callOp(op, t), ErrorCode.NOT_SUPPORTED);
  });
});

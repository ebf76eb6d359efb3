import { describe, expect, it } from 'vitest';
import { Dispatcher, type DispatchKey, addBackendKey } from '../../src/dispatch/dispatcher.js';

// A device backend's key exists once it registers its device type; here, by hand.
addBackendKey('openreg');

describe('the dispatcher', () => {
  const make = () => {
    const d = new Dispatcher();
    d.define('define', 'abs(Tensor self) -> Tensor');
    d.define('define', 'sub.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor');
    d.define('define', 'myns::custom_abs(Tensor input) -> Tensor');
    return d;
  };
  const keys = (...k: DispatchKey[]) => k;

  it('walks Autocast → Autograd → backend; a kernel redispatches to the keys after it', () => {
    const d = make();
    const trace: string[] = [];
    d.impl('impl', 'abs', 'Autocast', (next, x) => (trace.push('autocast'), next(`cast(${x})`)));
    d.impl('impl', 'abs', 'Autograd', (next, x) => (trace.push('autograd'), `grad(${next(x)})`));
    d.impl('impl', 'abs', 'openreg', (_next, x) => (trace.push('openreg'), `abs(${x})`));
    expect(d.call('abs', 'abs', keys('Autocast', 'Autograd', 'openreg'), ['x'])).toBe('grad(abs(cast(x)))');
    expect(trace).toEqual(['autocast', 'autograd', 'openreg']);
    // Without the wrapper keys active, only the backend runs.
    expect(d.call('abs', 'abs', keys('openreg'), ['y'])).toBe('abs(y)');
  });

  it('lets wrapper keys without kernels fall through, and backends fall back globally', () => {
    const d = make();
    d.impl('impl', 'sub.Tensor', 'cpu', (_next, a, b) => (a as number) - (b as number));
    const seen: string[] = [];
    // The global fallback of openreg: run the op's CPU kernel instead (copies elided here).
    d.fallback('fallback', 'openreg', (schema, _next, ...args) => {
      seen.push(schema.qualifiedName);
      return d.call('fallback', schema.qualifiedName, ['cpu'], args);
    });
    expect(d.call('sub', 'aten::sub.Tensor', keys('Autograd', 'openreg'), [5, 3])).toBe(2);
    expect(seen).toEqual(['aten::sub.Tensor']);
    expect(d.hasKernel('aten::sub.Tensor', 'openreg')).toBe(false);
  });

  it('custom operators take kernels per backend, meta included', () => {
    const d = make();
    d.impl('library.impl', 'myns::custom_abs', 'openreg', (_n, x) => Math.abs(x as number));
    d.impl('library.impl', 'myns::custom_abs', 'meta', (_n, shape) => shape);
    expect(d.call('custom_abs', 'myns::custom_abs', ['openreg'], [-3])).toBe(3);
    expect(d.call('custom_abs', 'myns::custom_abs', ['meta'], [[2, 3]])).toEqual([2, 3]);
  });

  it('a blocked op fails instead of falling back; a missing kernel is not implemented', () => {
    const d = make();
    d.fallback('fallback', 'openreg', () => 'fell back');
    d.block('block', 'abs', 'openreg');
    expect(() => d.call('abs', 'abs', ['openreg'], [1])).toThrow("abs: Operator 'aten::abs' is not implemented for device openreg");
    expect(d.call('sub', 'sub.Tensor', ['openreg'], [1, 2])).toBe('fell back');
    expect(() => d.call('sub', 'sub.Tensor', ['cpu'], [1, 2])).toThrow(expect.objectContaining({ code: 'ERR_NOT_SUPPORTED' }));
  });

  it('validates registrations, and a disposer removes only its own kernel', () => {
    const d = make();
    expect(() => d.define('library.define', 'abs(Tensor self) -> Tensor')).toThrow(/^library\.define: operator aten::abs is already defined/);
    expect(() => d.impl('library.impl', 'nope', 'cpu', () => 0)).toThrow(/^library\.impl: no operator nope is defined/);
    expect(() => d.impl('library.impl', 'abs', 'GPU', () => 0)).toThrow(/^library\.impl: key must be one of/);
    expect(() => d.impl('library.impl', 'abs', 'cpu', 'fn' as never)).toThrow(/^library\.impl: kernel must be a function/);
    const off = d.impl('library.impl', 'abs', 'cpu', () => 1);
    expect(() => d.impl('library.impl', 'abs', 'cpu', () => 2)).toThrow(/already has a kernel for cpu/);
    off();
    d.impl('library.impl', 'abs', 'cpu', () => 2);
    off(); // no longer its kernel: nothing happens
    expect(d.call('abs', 'abs', ['cpu'], [])).toBe(2);
  });
});

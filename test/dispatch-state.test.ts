import { describe, expect, it } from 'vitest';
import * as o from '../dist/src/index.js';
import { defineBuiltin } from '../dist/src/ops/register.js';
import { DEFAULT_AUTOCAST_POLICY } from '../dist/src/ops/autocast.js';
import { useTensorRuntime } from './helpers.js';

// One dispatch state per async context (PyTorch's thread-local dispatch key set): a kernel
// that calls below its key excludes that key instead of switching user-visible modes;
// autocast is per device type; kernels are found at call time; composite ops get gradients.
useTensorRuntime({ deviceCount: 1 });

describe('a kernel below its key', () => {
  it('a custom op kernel under autograd sees grad mode on, and the ops it calls record nothing', () => {
    using lib = new o.Library('statens');
    lib.define('probe(Tensor x) -> Tensor');
    const inside: { grad: boolean; recorded: boolean }[] = [];
    lib.impl('probe', 'cpu', (x: o.Tensor) => {
      const y = x.mul(2);
      inside.push({ grad: o.isGradEnabled(), recorded: y.gradFn !== undefined });
      return y;
    });
    const w = o.tensor([1, 2], { dtype: 'float32' }).requiresGrad_();
    const out = o.callOp('statens::probe', w) as o.Tensor;
    expect(inside).toEqual([{ grad: true, recorded: false }]);
    expect(out.requiresGrad).toBe(true); // the op itself is in the graph (its backward is an error: no formula)
  });

  it('an op under autocast runs its kernel with autocast still reported on', () => {
    using lib = new o.Library('statens2');
    lib.define('probe(Tensor x) -> Tensor');
    let seen: boolean | undefined;
    lib.impl('probe', 'cpu', (x: o.Tensor) => {
      seen = o.isAutocastEnabled('cpu');
      // Below the Autocast key: an op in the policy runs as written.
      return x.mm(x);
    });
    o.registerAutocastPolicy('cpu', { ...DEFAULT_AUTOCAST_POLICY, lowerPrecision: [...DEFAULT_AUTOCAST_POLICY.lowerPrecision, 'statens2::probe'] });
    try {
      const x = o.randn([2, 2]);
      const out = o.autocast({ deviceType: 'cpu' }, () => o.callOp('statens2::probe', x) as o.Tensor);
      expect(seen).toBe(true);
      expect(out.dtype).toBe('bfloat16');
    } finally {
      o.registerAutocastPolicy('cpu', DEFAULT_AUTOCAST_POLICY);
    }
  });
});

describe('autocast per device type', () => {
  it('autocast on cpu inside autocast on openreg leaves both on, each with its own dtype', () => {
    const a = o.randn([2, 2], { device: 'openreg' });
    const c = o.randn([2, 2]);
    const seen = o.autocast({ deviceType: 'openreg', dtype: 'float16' }, () =>
      o.autocast({ deviceType: 'cpu', dtype: 'bfloat16' }, () => ({
        openreg: o.isAutocastEnabled('openreg'),
        cpu: o.isAutocastEnabled('cpu'),
        dtypes: [a.mm(a).dtype, c.mm(c).dtype],
      })),
    );
    expect(seen).toEqual({ openreg: true, cpu: true, dtypes: ['float16', 'bfloat16'] });
    expect([o.isAutocastEnabled('openreg'), o.isAutocastEnabled('cpu')]).toEqual([false, false]);
  });

  it('disabling autocast for one device type keeps the other on', () => {
    const seen = o.autocast({ deviceType: 'openreg' }, () =>
      o.autocast({ deviceType: 'cpu' }, () => o.autocast({ deviceType: 'openreg', enabled: false }, () => [o.isAutocastEnabled('openreg'), o.isAutocastEnabled('cpu')])),
    );
    expect(seen).toEqual([false, true]);
  });
});

describe('kernels are looked up at call time', () => {
  it('a builtin defined after the openreg backend registered runs natively on openreg, not through the CPU fallback', async () => {
    const name = defineBuiltin('openreg::late_double(Tensor self) -> Tensor', (_ex: unknown, self: o.Tensor) => self.add(self));
    expect(o.kernelsOf(name)).toContain('openreg');
    const x = o.tensor([1, 2], { dtype: 'float32', device: 'openreg' });
    expect(await (o.callOp(name, x) as o.Tensor).toArray()).toEqual([2, 4]);
  });
});

describe('composite ops', () => {
  it('an op implemented with other ops gets its gradient from theirs, on every backend', async () => {
    using lib = new o.Library('compns');
    lib.define('mul_add(Tensor a, Tensor b) -> Tensor');
    lib.impl('mul_add', 'CompositeImplicitAutograd', (a: o.Tensor, b: o.Tensor) => a.mul(b).add(a));
    for (const device of ['cpu', 'openreg']) {
      const a = o.tensor([1, 2], { dtype: 'float32', device }).requiresGrad_();
      const b = o.tensor([3, 4], { dtype: 'float32', device }).requiresGrad_();
      const y = o.callOp('compns::mul_add', a, b) as o.Tensor;
      expect(await y.toArray()).toEqual([4, 10]);
      y.sum().backward();
      expect([await a.grad!.toArray(), await b.grad!.toArray()]).toEqual([
        [4, 5],
        [1, 2],
      ]);
    }
    const m = o.callOp('compns::mul_add', o.empty([2, 3], { device: 'meta' }), o.empty([3], { device: 'meta' })) as o.Tensor;
    expect([m.shape, m.device.type]).toEqual([[2, 3], 'meta']);
  });
});

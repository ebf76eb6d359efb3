import { describe, expect, it } from 'vitest';
import {
  AutocastGuard,
  ErrorCode,
  type Runtime,
  autocast,
  getAmpSupportedDtype,
  getAutocastDtype,
  isAutocastEnabled,
  randn,
  registerAutocastPolicy,
  tensor,
} from '../dist/src/index.js';
import { expectCode, useTensorRuntime } from './helpers.js';

// OpenReg's test_autocast.py, plus nesting, disabling, the cast cache and concurrent scopes.
let rt: Runtime;
useTensorRuntime({ deviceCount: 2 }, (r) => (rt = r));

describe('autocast on openreg', () => {
  it('runs mm in float16 and dot of float16 inputs in float32; float16 is the default dtype', () => {
    expect(getAmpSupportedDtype('openreg')).toEqual(['float16', 'bfloat16']);
    expect(getAutocastDtype('openreg')).toBe('float16');
    const x = randn([2, 3], { device: 'openreg' });
    const y = randn([3, 3], { device: 'openreg' });
    autocast({ deviceType: 'openreg' }, () => {
      expect(isAutocastEnabled('openreg')).toBe(true);
      expect(x.mm(y).dtype).toBe('float16');
      const h = tensor([1, 2, 3], { dtype: 'float16', device: 'openreg' });
      expect(h.dot(h).dtype).toBe('float32');
      expect(h.add(tensor([1, 1, 1], { dtype: 'float32', device: 'openreg' })).dtype).toBe('float32'); // promote
      expect(h.neg().dtype).toBe('float16'); // not in the policy: falls through
    });
    expect(isAutocastEnabled('openreg')).toBe(false);
    expect(x.mm(y).dtype).toBe('float32');
  });

  it('nests: an inner scope can change the dtype or disable autocast, and the outer one comes back', () => {
    const x = randn([2, 2], { device: 'openreg' });
    autocast({ dtype: 'bfloat16' }, () => {
      expect(x.matmul(x).dtype).toBe('bfloat16');
      autocast({ enabled: false }, () => expect(x.matmul(x).dtype).toBe('float32'));
      autocast({ dtype: 'float16' }, () => expect(x.matmul(x).dtype).toBe('float16'));
      expect(x.matmul(x).dtype).toBe('bfloat16');
    });
  });

  it('the using form turns autocast on for the rest of the block', () => {
    const x = randn([2, 2], { device: 'openreg' });
    {
      using amp = new AutocastGuard({ dtype: 'bfloat16' });
      void amp;
      expect(x.mm(x).dtype).toBe('bfloat16');
    }
    expect(x.mm(x).dtype).toBe('float32');
  });

  it('warns and disables autocast for an unsupported dtype, as PyTorch does', () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    const x = randn([2, 2], { device: 'openreg' });
    const dtype = autocast({ deviceType: 'openreg', dtype: 'float32' }, () => x.mm(x).dtype);
    return new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      process.off('warning', onWarning);
      expect(dtype).toBe('float32');
      expect(warnings.some((m) => m.startsWith('In openreg autocast, but the target dtype float32 is not supported'))).toBe(true);
    });
  });

  it('casts a leaf tensor once per scope, however many ops use it', () => {
    const w = randn([4, 4], { device: 'openreg' });
    const x = randn([4, 4], { device: 'openreg' });
    const casts: string[] = [];
    const stop = rt.observe({ kernelLaunch: (e) => void (e.kernel === 'tensorUnary' && casts.push(e.kernel)) });
    autocast({}, () => {
      x.mm(w);
      x.mm(w);
      x.matmul(w);
    });
    stop();
    expect(casts).toHaveLength(2); // x and w, once each
  });

  it('gradients flow through the casts back to float32 leaves', async () => {
    const w = randn([3, 2], { device: 'openreg', requiresGrad: true });
    const x = randn([4, 3], { device: 'openreg' });
    const loss = autocast({}, () => x.mm(w).sum());
    expect(loss.dtype).toBe('float32');
    loss.backward();
    expect(w.grad?.dtype).toBe('float32');
    expect(w.grad?.shape).toEqual([3, 2]);
  });

  it('concurrent scopes do not leak into each other', async () => {
    const x = randn([2, 2], { device: 'openreg:1' });
    const seen: string[] = [];
    const task = (dtype: 'float16' | 'bfloat16') =>
      autocast({ dtype }, async () => {
        for (let i = 0; i < 3; i++) {
          await new Promise((resolve) => setTimeout(resolve, 1));
          seen.push(`${dtype}:${x.mm(x).dtype}`);
        }
      });
    await Promise.all([task('float16'), task('bfloat16'), (async () => {
      await new Promise((resolve) => setTimeout(resolve, 2));
      seen.push(`none:${x.mm(x).dtype}`);
    })()]);
    expect(seen.filter((s) => s.startsWith('float16')).every((s) => s === 'float16:float16')).toBe(true);
    expect(seen.filter((s) => s.startsWith('bfloat16')).every((s) => s === 'bfloat16:bfloat16')).toBe(true);
    expect(seen).toContain('none:float32');
  });

  it('a backend can register its own policy', () => {
    const x = randn([3], { device: 'cpu' });
    const standard = { lowerPrecision: ['mm', 'matmul'], float32: ['dot', 'sum'], promote: [] };
    registerAutocastPolicy('cpu', { ...standard, lowerPrecision: ['mm', 'matmul', 'exp'] });
    try {
      expect(autocast({ deviceType: 'cpu' }, () => x.exp().dtype)).toBe('bfloat16');
    } finally {
      registerAutocastPolicy('cpu', { lowerPrecision: ['mm', 'matmul'], float32: ['dot', 'sum', 'sum.dim_IntList', 'mean', 'mean.dim', 'softmax.int', 'log_softmax.int', 'exp', 'log', 'pow.Tensor_Scalar'], promote: ['add.Tensor', 'sub.Tensor', 'mul.Tensor', 'div.Tensor', 'maximum', 'minimum'] });
    }
    expect(autocast({ deviceType: 'cpu' }, () => x.exp().dtype)).toBe('float32');
  });

  it('rejects bad options with coded errors', () => {
    expectCode(() => autocast({ deviceType: 'cuda' as never }, () => 0), ErrorCode.INVALID_VALUE);
    expectCode(() => autocast({ dtype: 'short' as never }, () => 0), ErrorCode.INVALID_VALUE);
    expectCode(() => autocast({}, 5 as never), ErrorCode.INVALID_VALUE);
    expectCode(() => new AutocastGuard({ enabled: 'yes' as never }), ErrorCode.INVALID_VALUE);
    expectCode(() => registerAutocastPolicy('openreg', { lowerPrecision: ['nope'], float32: [], promote: [] }), ErrorCode.INVALID_VALUE);
  });
});

import { describe, expect, it } from 'vitest';
import * as o from '../dist/src/index.js';
import { ErrorCode } from '../dist/src/index.js';
import { expectCode, useTensorRuntime } from './helpers.js';

// What a PyTorch user types first, each as PyTorch answers it.
useTensorRuntime({ deviceCount: 1 });

describe('PyTorch habits', () => {
  it('factories take sizes as separate arguments, options last: zeros(2, 3), ones(2, 3, { device })', async () => {
    expect(o.zeros(2, 3).shape).toEqual([2, 3]);
    const t = o.ones(2, 3, { device: 'openreg', dtype: 'int32' });
    expect([t.shape, t.dtype, t.device.toString()]).toEqual([[2, 3], 'int32', 'openreg:0']);
    expect([o.empty(4, 1).shape, o.rand(2, 2).shape, o.randn(3, { device: 'meta' }).shape]).toEqual([[4, 1], [2, 2], [3]]);
    expect(o.zeros([2, 3]).shape).toEqual([2, 3]);
    expect(expectCode(() => o.zeros(2, 'x' as never), ErrorCode.INVALID_VALUE).message).toMatch(/^zeros: /);
    expect(expectCode(() => Reflect.apply(o.zeros, undefined, [[2], {}, 3]), ErrorCode.INVALID_VALUE).message).toMatch(/^zeros: takes a shape and options/);
  });

  it('arange(end, options) and arange(start, end, options)', async () => {
    const a = o.arange(5, { device: 'openreg' });
    expect([a.device.toString(), a.dtype, await a.toArray()]).toEqual(['openreg:0', 'int64', [0, 1, 2, 3, 4]]);
    expect(await o.arange(2, 5, { dtype: 'float' }).toArray()).toEqual([2, 3, 4]);
    expect(await o.arange(0, 1, 0.5).toArray()).toEqual([0, 0.5]);
  });

  it("dtype aliases: 'float', 'double', 'half', 'long', 'int' in factories and to()", () => {
    const names = (['float', 'double', 'half', 'long', 'int'] as const).map((d) => o.zeros([1], { dtype: d }).dtype);
    expect(names).toEqual(['float32', 'float64', 'float16', 'int64', 'int32']);
    expect(o.zeros([1]).to('double').dtype).toBe('float64');
    expect(o.zeros([1]).to('openreg', { dtype: 'half' }).dtype).toBe('float16');
    expectCode(() => o.zeros([1], { dtype: 'short' as never }), ErrorCode.INVALID_VALUE);
  });

  it('dtype aliases wherever an op takes a dtype: sum, mean, softmax, callOp and autocast', async () => {
    const x = o.tensor([1, 2, 3]);
    expect(x.sum(null, false, 'double').dtype).toBe('float64');
    expect(x.float().mean(null, false, 'double').dtype).toBe('float64');
    const p = x.float().softmax(0, 'double');
    expect([p.dtype, (await p.data()).length]).toEqual(['float64', 3]);
    expect((o.callOp('aten::sum', x, 'long') as o.Tensor).dtype).toBe('int64');
    const w = o.randn(2, 2, { device: 'openreg' });
    expect(o.autocast({ deviceType: 'openreg', dtype: 'half' }, () => w.mm(w)).dtype).toBe('float16');
    expect(expectCode(() => x.sum(null, false, 'short' as never), ErrorCode.INVALID_VALUE).message).toMatch(/^sum: .*'dtype' must be a ScalarType/);
    expect(expectCode(() => o.autocast({ dtype: 'short' as never }, () => 0), ErrorCode.INVALID_VALUE).message).toMatch(/^autocast: options.dtype/);
  });

  it('t.float(), double(), half(), bfloat16(), long(), int(), bool() convert as to(dtype) does', async () => {
    const t = o.tensor([0, 1.5, -2], { dtype: 'float32' });
    expect([t.float(), t.double(), t.half(), t.bfloat16(), t.long(), t.int(), t.bool()].map((x) => x.dtype)).toEqual(['float32', 'float64', 'float16', 'bfloat16', 'int64', 'int32', 'bool']);
    expect(t.float()).toBe(t);
    expect(await t.long().toArray()).toEqual([0, 1, -2]);
    expect(await t.bool().toArray()).toEqual([false, true, true]);
  });

  it('size(), size(d), dim(), numel(), .T and .mT', () => {
    const t = o.zeros(2, 3, 4);
    expect([t.size(), t.size(1), t.size(-1), t.dim(), t.numel()]).toEqual([[2, 3, 4], 3, 4, 3, 24]);
    expect(t.T.shape).toEqual([4, 3, 2]);
    expect(t.mT.shape).toEqual([2, 4, 3]);
    expect(o.zeros(5).T.shape).toEqual([5]);
    expectCode(() => t.size(3), ErrorCode.INVALID_VALUE);
    expectCode(() => o.zeros(5).mT, ErrorCode.INVALID_VALUE);
  });

  it("'cpu:0' is the cpu, as in PyTorch; no other index is", () => {
    expect(o.zeros([1], { device: 'cpu:0' }).device.toString()).toBe('cpu');
    expect(o.device('cpu:0')).toBe(o.device('cpu'));
    expect(expectCode(() => o.device('cpu:1'), ErrorCode.INVALID_VALUE).message).toMatch(/cpu has one device/);
  });

  it('full infers its dtype from the value as PyTorch does', () => {
    expect([o.full([2], 3).dtype, o.full([2], 1.5).dtype, o.full([2], true).dtype]).toEqual(['int64', 'float32', 'bool']);
  });
});

describe('the one JS rule of dtype inference', () => {
  it('numbers infer as Python literals would, except that data asking for gradients is float32 (JS has no 1.0)', async () => {
    expect([o.tensor([1, 2]).dtype, o.tensor([1.5, 2]).dtype, o.tensor([1n, 2n]).dtype, o.tensor([true]).dtype]).toEqual(['int64', 'float32', 'int64', 'bool']);
    const w = o.tensor([1.0, 2.0], { requiresGrad: true });
    expect([w.dtype, w.requiresGrad]).toEqual(['float32', true]);
    w.mul(w).sum().backward();
    expect(await w.grad!.toArray()).toEqual([2, 4]);
    // An explicit dtype still decides: an integral one cannot require gradients.
    expect(expectCode(() => o.tensor([1, 2], { dtype: 'int64', requiresGrad: true }), ErrorCode.INVALID_VALUE).message).toMatch(/only floating-point tensors can require gradients/);
  });
});

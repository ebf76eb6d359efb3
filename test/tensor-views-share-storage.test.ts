import { describe, expect, it } from 'vitest';
import { ErrorCode, type Runtime, arange, ones, randn, tensor, zeros } from '../dist/src/index.js';
import { expectCode, useTensorRuntime } from './helpers.js';

// Views share storage and the data pointer; in-place ops keep it (OpenReg's test_ops.py view cases).
let rt: Runtime;
useTensorRuntime({ deviceCount: 1 }, (r) => (rt = r));

describe('views', () => {
  it('view keeps the data pointer; reshape views when it can and copies when it must', () => {
    const x = randn([2, 3, 4], { device: 'openreg' });
    const y = x.view(6, 4);
    expect([y.shape, y.dataPtr()]).toEqual([[6, 4], x.dataPtr()]);
    expect(x.reshape(-1, 4).dataPtr()).toBe(x.dataPtr());
    const t = x.transpose(0, 2);
    expectCode(() => t.view(-1), ErrorCode.INVALID_VALUE);
    expect(t.reshape(-1).storageDataPtr()).not.toBe(x.storageDataPtr());
  });

  it('expand keeps the pointer and repeats rows (test_expand)', async () => {
    const x = tensor([[1], [2], [3]], { device: 'openreg' });
    const y = x.expand(3, 2);
    expect(y.dataPtr()).toBe(x.dataPtr());
    expect(y.strides).toEqual([1, 0]);
    expect(await y.toArray()).toEqual([[1, 1], [2, 2], [3, 3]]);
  });

  it('transpose, permute, slice, select and asStrided read the right elements of one storage', async () => {
    const x = arange(12, undefined, 1, { device: 'openreg', dtype: 'float32' }).view(3, 4);
    expect(await x.t().toArray()).toEqual([[0, 4, 8], [1, 5, 9], [2, 6, 10], [3, 7, 11]]);
    expect(await x.view(3, 2, 2).permute(2, 0, 1).select(0, 1).toArray()).toEqual([[1, 3], [5, 7], [9, 11]]);
    const s = x.slice(1, 1, 4, 2);
    expect([s.storageOffset, s.strides]).toEqual([1, [4, 2]]);
    expect(await s.toArray()).toEqual([[1, 3], [5, 7], [9, 11]]);
    expect(await x.asStrided([2, 2], [4, 1], 1).toArray()).toEqual([[1, 2], [5, 6]]);
    expect(x.slice(0, -1).shape).toEqual([1, 4]);
    expectCode(() => x.asStrided([2, 2], [8, 8], 4), ErrorCode.INVALID_VALUE);
  });

  it('writes through a view land in the base tensor', async () => {
    const x = zeros([3, 4], { device: 'openreg' });
    x.slice(1, 0, 4, 2).fill_(7);
    x.select(0, 2).add_(1);
    expect(await x.toArray()).toEqual([[7, 0, 7, 0], [7, 0, 7, 0], [8, 1, 8, 1]]);
  });

  it('a write between interleaved views of one storage runs, and one between overlapping dense views is refused (PyTorch\'s rule)', async () => {
    const x = tensor([[1, 2], [3, 4], [5, 6]], { device: 'openreg' });
    x.select(1, 0).copy_(x.select(1, 1));
    x.select(1, 1).add_(x.select(1, 0));
    expect(await x.toArray()).toEqual([[2, 4], [4, 8], [6, 12]]);
    const row = arange(6, undefined, 1, { device: 'openreg', dtype: 'float32' });
    expect(expectCode(() => row.slice(0, 0, 4).copy_(row.slice(0, 2, 6)), ErrorCode.INVALID_VALUE).message).toMatch(/^copy_: unsupported operation: some elements/);
  });

  it('in-place ops keep the data pointer and reject a result type they cannot hold', async () => {
    const x = ones([4], { device: 'openreg', dtype: 'int32' });
    const ptr = x.dataPtr();
    x.add_(2).mul_(3);
    expect(x.dataPtr()).toBe(ptr);
    expect(await x.toArray()).toEqual([9, 9, 9, 9]);
    expectCode(() => x.add_(0.5), ErrorCode.INVALID_VALUE);
  });

  it('a view outlives the disposal of its base: the storage is freed with the last user', async () => {
    const allocated = () => rt.cachingAllocator.memoryStats(0).allocatedBytes.all.current;
    const x = ones([256], { device: 'openreg' });
    const v = x.view(16, 16);
    x.dispose();
    using sum = v.sum();
    expect(await sum.item()).toBe(256);
    const held = allocated();
    v.dispose();
    expect(held - allocated()).toBe(1024);
  });

  it('using frees a tensor at the end of its block', () => {
    let inner: { disposed: boolean } | undefined;
    {
      using t = zeros([8], { device: 'openreg' });
      inner = t;
    }
    expect(inner.disposed).toBe(true);
  });
});

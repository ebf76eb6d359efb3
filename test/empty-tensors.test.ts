import { describe, expect, it } from 'vitest';
import * as o from '../dist/src/index.js';
import { expectCode, useTensorRuntime } from './helpers.js';

// Tensors with no elements are valid input to every op: no kernel may fault on one, and the
// device stays usable afterwards (PyTorch's values for empty reductions).
useTensorRuntime({ deviceCount: 2 });

/** The device is healthy: no sticky error, and a kernel still computes. */
async function expectHealthy(device: string): Promise<void> {
  expect(await o.ones([3], { device }).sum().item()).toBe(3);
}

describe.each(['openreg', 'openreg:1', 'cpu'])('empty tensors on %s', (device) => {
  it('sum of an empty tensor is 0 (int64 0 for integers) and leaves the device usable', async () => {
    expect(await o.zeros([0], { device }).sum().item()).toBe(0);
    const ints = o.zeros([0], { device, dtype: 'int32' }).sum();
    expect(ints.dtype).toBe('int64');
    expect(await ints.item()).toBe(0);
    await expectHealthy(device);
  });

  it('mean of an empty tensor is NaN', async () => {
    expect(await o.zeros([0], { device }).mean().item()).toBeNaN();
    await expectHealthy(device);
  });

  it('sum over the empty dimension of a [3, 0] tensor is three zeros, mean three NaNs', async () => {
    expect(await o.zeros([3, 0], { device }).sum(1).toArray()).toEqual([0, 0, 0]);
    expect(await o.zeros([3, 0], { device }).sum(1, true).toArray()).toEqual([[0], [0], [0]]);
    expect((await o.zeros([3, 0], { device }).mean(1).toArray()) as number[]).toEqual([NaN, NaN, NaN]);
    expect(await o.zeros([0, 3], { device }).sum(0).toArray()).toEqual([0, 0, 0]);
    await expectHealthy(device);
  });

  it('amax and max of an empty tensor are refused at the call, and amax over a non-empty dim gives an empty result', async () => {
    expect(expectCode(() => o.zeros([0], { device }).amax(), 'ERR_INVALID_VALUE').message).toMatch(/^amax: expected reduction dim 0 to have non-zero size/);
    expectCode(() => o.zeros([3, 0], { device }).amax(1), 'ERR_INVALID_VALUE');
    expectCode(() => o.zeros([0], { device }).max(), 'ERR_INVALID_VALUE');
    expectCode(() => o.zeros([0, 2], { device }).max(0), 'ERR_INVALID_VALUE');
    expect(await o.zeros([0, 3], { device }).amax(1).toArray()).toEqual([]);
    await expectHealthy(device);
  });

  it('matmul with an inner dimension of 0 gives zeros; softmax over an empty dim gives an empty tensor', async () => {
    const a = o.zeros([2, 0], { device });
    const b = o.zeros([0, 3], { device });
    expect(await a.matmul(b).toArray()).toEqual([[0, 0, 0], [0, 0, 0]]);
    expect(await o.zeros([4, 0], { device }).mm(o.zeros([0, 0], { device })).toArray()).toEqual([[], [], [], []]);
    expect(await o.zeros([2, 0], { device }).softmax(1).toArray()).toEqual([[], []]);
    expect(await o.zeros([0, 2], { device }).logSoftmax(1).toArray()).toEqual([]);
    await expectHealthy(device);
  });

  it('elementwise ops, views, copies, fills and random draws of empty tensors run', async () => {
    const e = o.zeros([2, 0, 3], { device });
    expect(await e.add(1).toArray()).toEqual([[], []]);
    expect(await e.mul(e).exp().toArray()).toEqual([[], []]);
    expect(await e.transpose(0, 2).contiguous().toArray()).toEqual([[], [], []]);
    expect((await e.reshape(0, 6).toArray()) as unknown[]).toEqual([]);
    expect(await e.slice(0, 1, 1).clone().toArray()).toEqual([]);
    e.fill_(3).add_(1);
    expect(await e.to('openreg:1').toArray()).toEqual([[], []]);
    expect(await e.to('cpu').toArray()).toEqual([[], []]);
    expect(await o.empty([0], { device }).copy_(o.zeros([0])).toArray()).toEqual([]);
    expect(await o.rand([0, 2], { device }).toArray()).toEqual([]);
    expect(await o.randn([0], { device, dtype: 'float16' }).toArray()).toEqual([]);
    expect(await o.arange(0, 0, 1, { device }).toArray()).toEqual([]);
    expect(await o.tensor([], { device }).sum().item()).toBe(0);
    await expectHealthy(device);
  });

  it('gradients flow through an empty sum', async () => {
    const w = o.zeros([0, 2], { device, requiresGrad: true });
    w.sum().backward();
    expect(await w.grad!.toArray()).toEqual([]);
    await expectHealthy(device);
  });
});

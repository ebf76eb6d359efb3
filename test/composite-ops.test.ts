import { describe, expect, it } from 'vitest';
import * as o from '../dist/src/index.js';
import { expectCode, useTensorRuntime } from './helpers.js';

// The composite ops' values are checked against PyTorch in matches-pytorch; here, what the
// fixture cannot pin down: the random ones, and how errors name the call.

useTensorRuntime({ deviceCount: 1 });

describe('composite ops', () => {
  it("draw randint and bernoulli from the device's generator: in range, reproducible per seed", async () => {
    o.manualSeed(11);
    const a = o.randint(-3, 4, [1000], { device: 'openreg:0' });
    o.manualSeed(11);
    const b = o.randint(-3, 4, [1000], { device: 'openreg:0' });
    expect(a.dtype).toBe('int64');
    const values = Array.from(await a.data(), Number);
    expect(values).toEqual(Array.from(await b.data(), Number));
    expect(Math.min(...values)).toBe(-3);
    expect(Math.max(...values)).toBe(3);
    const p = o.tensor([0, 1, 0.5, 0.5], { dtype: 'float32', device: 'openreg:0' }).expand(250, 4).contiguous();
    const draws = (await o.bernoulli(p).toArray()) as number[][];
    expect(draws.every((row) => row[0] === 0 && row[1] === 1)).toBe(true);
    const halves = draws.reduce((n, row) => n + row[2]! + row[3]!, 0);
    expect(halves).toBeGreaterThan(200);
    expect(halves).toBeLessThan(300);
  });

  it('draw randperm as a permutation, reproducible per seed', async () => {
    o.manualSeed(5);
    const p = Array.from(await o.randperm(50, { device: 'openreg:0' }).data(), Number);
    o.manualSeed(5);
    expect(Array.from(await o.randperm(50, { device: 'openreg:0' }).data(), Number)).toEqual(p);
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(p).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it("write through indexPut_ as PyTorch's t[…] = v does, on a transposed tensor too, accumulating repeated indices", async () => {
    for (const device of ['cpu', 'openreg:0']) {
      const x = o.zeros([3, 4], { device });
      x.indexPut_([1], 5);
      x.indexPut_([':', 0], o.tensor([1, 2, 3], { dtype: 'float32', device }));
      const at = o.tensor([2, 2], { dtype: 'int64', device });
      x.indexPut_([at, o.tensor([3, 3], { dtype: 'int64', device })], o.tensor([1, 1], { dtype: 'float32', device }), true);
      expect(await x.toArray()).toEqual([[1, 0, 0, 0], [2, 5, 5, 5], [3, 0, 0, 2]]);
      const y = o.zeros([4, 3], { device }).t();
      y.indexPut_(['...', -1], 7);
      expect(await y.toArray()).toEqual([[0, 0, 0, 7], [0, 0, 0, 7], [0, 0, 0, 7]]);
    }
    expect(expectCode(() => o.zeros([2]).indexPut_([0], o.ones([1], { dtype: 'int64' })), 'ERR_INVALID_VALUE').message).toMatch(/^indexPut_: values must have self's dtype \(float32\), got int64/);
  });

  it("index and write by a bool mask computed on the device, as PyTorch's t[t > 0] and t[t < 0] = 0 do", async () => {
    const x = o.tensor([[-1, 2, -3], [4, -5, 6]], { dtype: 'float32', device: 'openreg:0' });
    // The mask is still being computed when index reads it: the read waits for it.
    expect(await x.index([x.gt(0)]).toArray()).toEqual([2, 4, 6]);
    x.indexPut_([x.lt(0)], 0);
    expect(await x.toArray()).toEqual([[0, 2, 0], [4, 0, 6]]);
    expect(await x.index([':', o.tensor([true, false, true], { device: 'openreg:0' })]).toArray()).toEqual([[0, 0], [4, 6]]);
  });

  it('refuse a cpu bool mask with pool work pending, naming the Promise form and ready()', async () => {
    const x = o.tensor([1, -2, 3], { dtype: 'float32' });
    const mask = x.gt(0);
    const error = expectCode(() => x.index([mask]), 'ERR_NOT_READY');
    expect(error.message).toMatch(/^index: the bool mask .* await mask\.ready\(\) first, or use the Promise form t\.maskedSelect\(mask\)/);
    await mask.ready();
    expect(await x.index([mask]).toArray()).toEqual([1, 3]);
  });

  it('name the call the user made in their errors, and refuse extra arguments', () => {
    const x = o.zeros([3, 4]);
    expect(expectCode(() => x.split([1, 1]), 'ERR_INVALID_VALUE').message).toMatch(/^split: split sizes \[1, 1\] must sum to 3/);
    expect(expectCode(() => (x.flip as (...a: unknown[]) => o.Tensor).call(x, [0], 1), 'ERR_INVALID_VALUE').message).toMatch(/^flip: takes at most 1 argument/);
    expect(expectCode(() => x.tril(0.5), 'ERR_INVALID_VALUE').message).toMatch(/^tril: diagonal must be an integer/);
    expect(expectCode(() => x.var(0, { unbiased: true } as never), 'ERR_INVALID_VALUE').message).toMatch(/^var: options has no option "unbiased"/);
    expect(expectCode(() => o.randint(2, 2, [3]), 'ERR_INVALID_VALUE').message).toMatch(/^randint: high must be an integer >= 3/);
    expect(expectCode(() => o.bernoulli(o.ones([2], { dtype: 'int64' })), 'ERR_INVALID_VALUE').message).toMatch(/^bernoulli: p must be a floating Tensor/);
  });

  it('return views that share storage for split and chunk', async () => {
    const x = o.arange(0, 6, 1, { dtype: 'float32' });
    const [a, b] = x.chunk(2);
    expect(a!.storageDataPtr()).toBe(x.storageDataPtr());
    expect(await b!.toArray()).toEqual([3, 4, 5]);
  });
});

import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import * as o from '../dist/src/index.js';
import { useTensorRuntime } from './helpers.js';

// console.log(t) prints PyTorch's repr (test/fixtures/torch-reference.json holds PyTorch
// 1.13's for the same values), and never blocks on values that are not there yet.
useTensorRuntime({ deviceCount: 1 });

type Encoded = number | boolean | string;
const fixture = JSON.parse(readFileSync(new URL('./fixtures/torch-reference.json', import.meta.url), 'utf8')) as {
  reprs: { tensor: { dtype: o.DType; shape: number[]; values: Encoded[] }; repr: string }[];
};
const decode = (v: Encoded) => (v === 'nan' ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : v);

describe('printing a tensor', () => {
  it.each(fixture.reprs.map((r) => [r.repr.split('\n')[0]!, r] as const))("matches PyTorch's repr: %s", async (_name, r) => {
    const t = o.tensor(r.tensor.values.map(decode) as number[], { dtype: r.tensor.dtype }).reshape(...r.tensor.shape);
    await t.ready();
    expect(inspect(t)).toBe(r.repr);
  });

  it("names the device, the gradient function and requires_grad as PyTorch does; meta shows its size", async () => {
    const x = o.tensor([[1, 2], [3, 4]], { device: 'openreg' });
    expect(inspect(x.add(2))).toBe("tensor([[3, 4],\n        [5, 6]], device='openreg:0')");
    const w = o.ones([2], { requiresGrad: true });
    await w.ready();
    expect(inspect(w)).toBe('tensor([1., 1.], requires_grad=True)');
    const y = w.mul(2);
    await y.ready();
    expect(inspect(y)).toBe('tensor([2., 2.], grad_fn=<mul.ScalarBackward>)');
    expect(inspect(o.ones([3], { device: 'meta' }))).toBe("tensor(..., device='meta', size=(3,))");
  });

  it("prints a CPU factory's values at once: its fill is done when it returns", () => {
    expect(inspect(o.zeros(2, 3))).toBe('tensor([[0., 0., 0.],\n        [0., 0., 0.]])');
    expect(inspect(o.full([2], 7, { dtype: 'float16' }))).toBe('tensor([7., 7.], dtype=torch.float16)');
    expect(o.ones([3], { dtype: 'int64' }).dataSync()).toEqual(new BigInt64Array([1n, 1n, 1n]));
  });

  it('says values are pending instead of blocking on work that has not finished', () => {
    // A CPU-pool op has just been queued: its values cannot be waited for on this thread.
    const t = o.tensor([1, 2, 3], { dtype: 'float32' }).mul(2);
    expect(inspect(t)).toBe('tensor(<values pending: shape [3]; await it or read it>)');
    const d = o.zeros([2]);
    d.dispose();
    expect(inspect(d)).toMatch(/\(disposed\)$/);
  });
});

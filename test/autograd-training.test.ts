import { describe, expect, it } from 'vitest';
import {
  AutogradFunction,
  ErrorCode,
  type FunctionContext,
  Library,
  Tensor,
  callOp,
  noGrad,
  tensor,
} from '../dist/src/index.js';
import { expectCode, useTensorRuntime } from './helpers.js';

// OpenReg's test_autograd.py, plus the two-device MLP the issue asks for.
useTensorRuntime({ deviceCount: 2 });

const close = (a: number[], b: number[], tol = 1e-5) => a.every((v, i) => Math.abs(v - b[i]!) <= tol * Math.max(1, Math.abs(b[i]!)));
const flat = async (t: Tensor) => Array.from((await t.data()) as Float32Array);

describe('gradients of builtin ops', () => {
  it('backward through mul, sum, broadcasting add, mm and softmax matches the formulas', async () => {
    const x = tensor([[1, 2], [3, 4]], { dtype: 'float32', device: 'openreg', requiresGrad: true });
    x.mul(x).sum().backward();
    expect(await x.grad!.toArray()).toEqual([[2, 4], [6, 8]]);

    const a = tensor([[1, 2], [3, 4]], { dtype: 'float32', device: 'openreg', requiresGrad: true });
    const b = tensor([10, 20], { dtype: 'float32', device: 'openreg', requiresGrad: true });
    a.add(b).mul(a).sum().backward();
    expect(await b.grad!.toArray()).toEqual([4, 6]); // Σ over the broadcast rows of a
    expect(await a.grad!.toArray()).toEqual([[12, 24], [16, 28]]); // 2a + b

    const m = tensor([[1, 2, 3]], { dtype: 'float32', device: 'openreg:1', requiresGrad: true });
    const w = tensor([[1], [0], [-1]], { dtype: 'float32', device: 'openreg:1', requiresGrad: true });
    m.mm(w).sum().backward();
    expect(await m.grad!.toArray()).toEqual([[1, 0, -1]]);
    expect(await w.grad!.toArray()).toEqual([[1], [2], [3]]);

    const s = tensor([1, 2, 3], { dtype: 'float32', device: 'openreg', requiresGrad: true });
    s.softmax(0).mul(tensor([1, 0, 0], { dtype: 'float32', device: 'openreg' })).sum().backward();
    const p = [1, 2, 3].map((v) => Math.exp(v) / (Math.exp(1) + Math.exp(2) + Math.exp(3)));
    expect(close(await flat(s.grad!), [p[0]! * (1 - p[0]!), -p[0]! * p[1]!, -p[0]! * p[2]!])).toBe(true);
  });

  it('accumulates into .grad across backward calls and ignores noGrad work', async () => {
    const x = tensor([1, 2], { dtype: 'float32', device: 'openreg', requiresGrad: true });
    x.sum().backward();
    x.mul(3).sum().backward();
    expect(await x.grad!.toArray()).toEqual([4, 4]);
    const y = noGrad(() => x.mul(2));
    expect(y.requiresGrad).toBe(false);
  });

  it('in-place ops on tensors that require grad are refused; under noGrad they run', async () => {
    const x = tensor([1, 2], { dtype: 'float32', device: 'openreg', requiresGrad: true });
    expectCode(() => x.add_(1), ErrorCode.INVALID_VALUE);
    noGrad(() => x.add_(1));
    expect(await x.toArray()).toEqual([2, 3]);
  });

  it('disposing a tensor that backward needs makes backward fail with a coded error', () => {
    const x = tensor([1, 2], { dtype: 'float32', device: 'openreg', requiresGrad: true });
    const y = x.exp();
    const loss = y.mul(y).sum();
    y.dispose();
    expect(expectCode(() => loss.backward(), ErrorCode.INVALID_HANDLE).message).toMatch(/^backward: a tensor mul.TensorBackward saved for backward was disposed/);
  });

  it('backward through an op with no formula names the op', () => {
    const x = tensor([1, 5, 2], { dtype: 'float32', device: 'openreg', requiresGrad: true });
    expect(expectCode(() => x.max().backward(), ErrorCode.NOT_SUPPORTED).message).toMatch(/derivative of aten::max/);
  });

  it('rejects backward from a non-scalar without a gradient, and from a tensor that needs none', () => {
    const x = tensor([1, 2], { dtype: 'float32', device: 'openreg', requiresGrad: true });
    expectCode(() => x.mul(2).backward(), ErrorCode.INVALID_VALUE);
    expectCode(() => tensor([1.5]).backward(), ErrorCode.INVALID_VALUE);
    expectCode(() => {
      tensor([1, 2]).requiresGrad = true;
    }, ErrorCode.INVALID_VALUE);
  });
});

describe('user functions and custom ops', () => {
  it('an AutogradFunction saves tensors in forward and returns gradients in backward', async () => {
    class Square extends AutogradFunction {
      static override forward(ctx: FunctionContext, x: Tensor): Tensor {
        ctx.saveForBackward(x);
        return x.mul(x);
      }
      static override backward(ctx: FunctionContext, g: Tensor): Tensor {
        const [x] = ctx.savedTensors;
        return g.mul(x!).mul(2);
      }
    }
    const z = tensor([1, 2, 3], { dtype: 'float32', device: 'openreg:1', requiresGrad: true });
    const out = Square.apply(z);
    expect(out.gradFn?.name).toBe('SquareBackward');
    out.sum().backward();
    expect(await z.grad!.toArray()).toEqual([2, 4, 6]);
  });

  it('a custom op with registerAutograd differentiates; one without fails at backward', async () => {
    using lib = new Library('gradns');
    lib.define('scale(Tensor x, float k) -> Tensor');
    lib.impl('scale', 'openreg', (x: Tensor, k: number) => x.mul(k));
    const x = tensor([1, 2], { dtype: 'float32', device: 'openreg', requiresGrad: true });
    const unregistered = callOp('gradns::scale', x, 3) as Tensor;
    expectCode(() => unregistered.sum().backward(), ErrorCode.NOT_SUPPORTED);
    lib.registerAutograd('scale', (ctx, g) => [g.mul(ctx.state.k as number), undefined], {
      setupContext: (ctx, inputs) => (ctx.state.k = inputs[1]),
    });
    (callOp('gradns::scale', x, 3) as Tensor).sum().backward();
    expect(await x.grad!.toArray()).toEqual([3, 3]);
  });
});

describe('training', () => {
  /** A two-layer MLP, each layer on its own device (or both on the cpu), trained by SGD. */
  async function train(dev0: string, dev1: string): Promise<{ loss: number; w1: number[]; w2: number[] }> {
    const data = tensor([[0.5, -1, 2], [1, 0.25, -0.5], [-1.5, 1, 0.75], [0.1, 0.2, 0.3]], { device: dev0 });
    const target = tensor([[1], [0], [1], [0]], { dtype: 'float32', device: dev1 });
    const w1 = tensor([[0.1, -0.2, 0.3, 0.05], [0.2, 0.1, -0.1, 0.3], [-0.3, 0.2, 0.1, -0.05]], { device: dev0, requiresGrad: true });
    const b1 = tensor([0.01, -0.02, 0.03, 0], { device: dev0, requiresGrad: true });
    const w2 = tensor([[0.3], [-0.1], [0.2], [0.4]], { device: dev1, requiresGrad: true });
    let loss = 0;
    for (let step = 0; step < 25; step++) {
      const hidden = data.mm(w1).add(b1).relu().to(dev1);
      const diff = hidden.mm(w2).sub(target);
      const l = diff.mul(diff).mean();
      l.backward();
      noGrad(() => {
        for (const p of [w1, b1, w2]) {
          p.sub_(p.grad!, 0.1);
          p.grad!.dispose();
          p.grad = undefined;
        }
      });
      loss = (await l.item()) as number;
    }
    return { loss, w1: await flat(w1), w2: await flat(w2) };
  }

  it('an MLP on openreg:0 and openreg:1 trains to the same weights as on the cpu (1e-5)', async () => {
    const device = await train('openreg:0', 'openreg:1');
    const cpu = await train('cpu', 'cpu');
    expect(device.loss).toBeLessThan(0.25);
    expect(close([device.loss], [cpu.loss])).toBe(true);
    expect(close(device.w1, cpu.w1)).toBe(true);
    expect(close(device.w2, cpu.w2)).toBe(true);
  });
});

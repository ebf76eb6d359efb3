import { describe, expect, it } from 'vitest';
import * as o from '../dist/src/index.js';
import { expectCode, useTensorRuntime } from './helpers.js';

// The autograd graph in PyTorch's engine shape: nodes with edges (node, inputNr), tensors
// with outputNr, list inputs and several outputs, version-checked saved tensors, one
// accumulation node per leaf with hooks, dependency-ordered execution and retainGraph.
let runtime: o.Runtime;
useTensorRuntime({ deviceCount: 1 }, (rt) => (runtime = rt));

/** What `fn` enqueues, in order: kernel launches by name, and the device blocks allocated (`block <ptr>`). */
function observed(fn: () => void): string[] {
  const seen: string[] = [];
  const stop = runtime.observe({ kernelLaunch: (e) => seen.push(e.kernel), cachingAllocation: (e) => seen.push(`block ${e.ptr}`) });
  try {
    fn();
  } finally {
    stop();
  }
  return seen;
}

const leaf = (values: number[], device = 'cpu') => o.tensor(values, { dtype: 'float32', device }).requiresGrad_();

describe('what the graph represents', () => {
  it('an op taking Tensor[] is in the graph, and each list element gets its gradient', async () => {
    using lib = new o.Library('graphns');
    lib.define('sum_all(Tensor[] xs) -> Tensor');
    lib.impl('sum_all', 'cpu', (xs: o.Tensor[]) => xs.reduce((acc, x) => acc.add(x)));
    lib.registerAutograd('sum_all', (_ctx, g: o.Tensor) => [[g, g.mul(2)]]);
    const a = leaf([1, 2]);
    const b = leaf([3, 4]);
    const y = o.callOp('graphns::sum_all', [a, b]) as o.Tensor;
    expect(y.requiresGrad).toBe(true);
    y.sum().backward();
    expect([await a.grad!.toArray(), await b.grad!.toArray()]).toEqual([
      [1, 1],
      [2, 2],
    ]);
  });

  it('a two-output op with registerAutograd puts both outputs in the graph; an unused output gets zeros', async () => {
    using lib = new o.Library('graphns2');
    lib.define('split2(Tensor x) -> (Tensor, Tensor)');
    lib.impl('split2', 'cpu', (x: o.Tensor) => [x.mul(2), x.mul(3)]);
    const seen: o.Tensor[] = [];
    lib.registerAutograd('split2', (_ctx, g0: o.Tensor, g1: o.Tensor) => {
      seen.push(g1.clone());
      return g0.mul(2).add(g1.mul(3));
    });
    const x = leaf([1, 1]);
    const [p, q] = o.callOp('graphns2::split2', x) as [o.Tensor, o.Tensor];
    expect([p.requiresGrad, q.requiresGrad, p.gradFn === q.gradFn, p.outputNr, q.outputNr]).toEqual([true, true, true, 0, 1]);
    p.sum().backward();
    expect(await Promise.all(seen.map((t) => t.toArray()))).toEqual([[0, 0]]);
    expect(await x.grad!.toArray()).toEqual([2, 2]);
  });

  it('gradFn lists where each input gradient goes, as (node, inputNr) pairs', () => {
    const a = leaf([1]);
    const b = leaf([2]);
    const y = a.mul(b).exp();
    expect(y.gradFn!.name).toBe('expBackward');
    const [[mul, nr]] = y.gradFn!.nextFunctions as [[o.GradNode, number]];
    expect([mul.name, nr]).toEqual(['mul.TensorBackward', 0]);
    expect(mul.nextFunctions.map((e) => e?.[0].name)).toEqual(['AccumulateGrad', 'AccumulateGrad']);
  });
});

describe('in-place changes and saved tensors', () => {
  it('an in-place custom op on a leaf that requires grad is refused, and the leaf stays a leaf', () => {
    using lib = new o.Library('graphns3');
    lib.define('scale_(Tensor(a!) self) -> Tensor(a!)');
    lib.impl('scale_', 'cpu', (s: o.Tensor) => o.noGrad(() => s.mul_(2)));
    const w = leaf([1, 2]);
    expect(expectCode(() => o.callOp('graphns3::scale_', w), 'ERR_INVALID_VALUE').message).toMatch(/a leaf Variable that requires grad is being used in an in-place operation/);
    expect([w.isLeaf, w.gradFn]).toEqual([true, undefined]);
    expect(expectCode(() => w.add_(1), 'ERR_INVALID_VALUE').message).toMatch(/^add_: a leaf Variable that requires grad/);
  });

  it('a tensor saved for backward and then changed in place makes backward fail instead of computing a wrong gradient', () => {
    const w = leaf([1, 2]);
    const loss = w.mul(w).sum();
    o.noGrad(() => w.mul_(0));
    expect(expectCode(() => loss.backward(), 'ERR_INVALID_VALUE').message).toMatch(/modified by an inplace operation.*is at version 1; expected version 0/);
    expect(w.grad).toBeUndefined();
  });

  it('an op that saved nothing still backpropagates after its input changed in place', async () => {
    const w = leaf([1, 2]);
    const loss = w.add(1).sum();
    o.noGrad(() => w.mul_(0));
    loss.backward();
    expect(await w.grad!.toArray()).toEqual([1, 1]);
  });
});

describe('running the graph', () => {
  it('a second backward through a freed graph is an error; retainGraph keeps it for one more', async () => {
    const w = leaf([3]);
    const loss = w.mul(w).sum();
    loss.backward(undefined, { retainGraph: true });
    loss.backward();
    expect(await w.grad!.toArray()).toEqual([12]);
    expect(expectCode(() => loss.backward(), 'ERR_INVALID_VALUE').message).toMatch(/backward through the graph a second time/);
  });

  it('a diamond runs each node once, after every path into it, and sums the paths', async () => {
    const x = leaf([2]);
    const a = x.mul(3);
    const b = x.mul(4);
    const calls: string[] = [];
    a.registerHook(() => void calls.push('a'));
    b.registerHook(() => void calls.push('b'));
    x.registerHook(() => void calls.push('x'));
    a.mul(b).sum().backward(); // d(12x²)/dx = 24x
    expect(await x.grad!.toArray()).toEqual([48]);
    expect(calls.sort()).toEqual(['a', 'b', 'x']);
  });

  it('hooks see and may replace gradients, and can be removed; post-accumulate hooks see the new .grad', async () => {
    const w = leaf([1, 1]);
    const h = w.mul(2);
    const doubling = h.registerHook((g) => g.mul(2));
    const accumulated: o.Tensor[] = [];
    w.registerPostAccumulateGradHook((t) => void accumulated.push(t.grad!.clone()));
    h.sum().backward(undefined, { retainGraph: true });
    expect(await w.grad!.toArray()).toEqual([4, 4]);
    doubling.remove();
    h.sum().backward();
    expect(await w.grad!.toArray()).toEqual([6, 6]);
    expect(await Promise.all(accumulated.map((t) => t.toArray()))).toEqual([
      [4, 4],
      [6, 6],
    ]);
  });

  it('retainGrad keeps a non-leaf gradient; hooks need a tensor that requires grad', async () => {
    const w = leaf([1, 2]);
    const h = w.mul(3);
    h.retainGrad();
    h.sum().backward();
    expect(await h.grad!.toArray()).toEqual([1, 1]);
    expectCode(() => o.tensor([1]).registerHook((g) => g), 'ERR_INVALID_VALUE');
    expectCode(() => h.registerPostAccumulateGradHook(() => undefined), 'ERR_INVALID_VALUE');
  });

  it('an AutogradFunction with two outputs and a list argument', async () => {
    class SplitScale extends o.AutogradFunction {
      static override forward(_ctx: o.FunctionContext, xs: o.Tensor[]): o.Tensor[] {
        return [xs[0]!.mul(2), xs[1]!.mul(5)];
      }
      static override backward(_ctx: o.FunctionContext, g0: o.Tensor, g1: o.Tensor) {
        return [[g0.mul(2), g1.mul(5)]];
      }
    }
    const a = leaf([1]);
    const b = leaf([1]);
    const [p, q] = SplitScale.apply([a, b]);
    p!.add(q!).sum().backward();
    expect([await a.grad!.toArray(), await b.grad!.toArray()]).toEqual([[2], [5]]);
  });

  it('the graph runs on openreg as on the cpu', async () => {
    const w = leaf([1, 2], 'openreg');
    const loss = w.mul(w).sum();
    loss.backward();
    expect(await w.grad!.toArray()).toEqual([2, 4]);
  });

  it("computes no gradient for an input that does not require one (PyTorch's needs_input_grad)", async () => {
    const x = o.tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'float32', device: 'openreg' });
    const w = o.tensor([[1], [1], [1]], { dtype: 'float32', device: 'openreg' }).requiresGrad_();
    const loss = x.mm(w).sum();
    // One product, xᵀ·g for w; x's g·wᵀ is never computed.
    expect(observed(() => loss.backward()).filter((k) => k.startsWith('tensorMatmul'))).toHaveLength(1);
    expect(await w.grad!.toArray()).toEqual([[5], [7], [9]]);
  });

  it('a leaf keeps the gradient the pass made rather than a copy, and leaves handed one gradient each get their own', async () => {
    const w = leaf([1, 2], 'openreg');
    const loss = w.mul(3).sum();
    const seen = observed(() => loss.backward());
    // mul's backward (g·3) is the last binary kernel; the block allocated for it is w.grad itself.
    const mulGrad = seen.findLastIndex((k) => k.startsWith('tensorBinary'));
    expect(seen.slice(0, mulGrad).findLast((k) => k.startsWith('block '))).toBe(`block ${w.grad!.dataPtr()}`);
    // add passes its output's gradient to both inputs: the second leaf may keep it, the first copies it.
    const a = leaf([1, 2], 'openreg');
    const b = leaf([3, 4], 'openreg');
    a.add(b).sum().backward();
    expect(a.grad!.dataPtr()).not.toBe(b.grad!.dataPtr());
    o.noGrad(() => a.grad!.add_(1));
    expect([await a.grad!.toArray(), await b.grad!.toArray()]).toEqual([
      [2, 2],
      [1, 1],
    ]);
  });
});

it("a gradient a user's backward returns is never freed by the engine, even when a builtin node passes it on", async () => {
  const kept = o.tensor([7, 7], { dtype: 'float32' });
  class Passthrough extends o.AutogradFunction {
    static override forward(_ctx: o.FunctionContext, x: o.Tensor): o.Tensor {
      return x.clone();
    }
    static override backward(): o.Tensor {
      return kept;
    }
  }
  const w = leaf([1, 2]);
  Passthrough.apply(w.clone()).sum().backward();
  expect(kept.disposed).toBe(false);
  expect(await kept.toArray()).toEqual([7, 7]);
  expect(await w.grad!.toArray()).toEqual([7, 7]);
});

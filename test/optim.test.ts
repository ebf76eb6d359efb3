import { describe, expect, it } from 'vitest';
import * as o from '../dist/src/index.js';
import { expectCode, useTensorRuntime } from './helpers.js';

const { nn, optim } = o;

useTensorRuntime({ deviceCount: 2 });

const F32 = { dtype: 'float32' } as const;
const grads = (k: number) => o.tensor([[0.5 * k, -1], [2, 0.25 * k]], { ...F32, device: 'openreg:1' });

/** A parameter on openreg:1 stepped `steps` times with gradients grads(from), grads(from + 1), … */
function run(opt: o.optim.Optimizer, p: o.Tensor, from: number, steps: number): void {
  for (let k = from; k < from + steps; k++) {
    p.grad = grads(k);
    opt.step();
  }
}

describe('an optimizer', () => {
  it('keeps its state on the parameter\'s device and resumes from its state dict exactly', async () => {
    const make = () => o.tensor([[1, 2], [3, 4]], { ...F32, device: 'openreg:1' }).requiresGrad_();
    const straight = make();
    const optStraight = new optim.Adam([straight], { lr: 0.1, amsgrad: true });
    run(optStraight, straight, 1, 5);
    const first = make();
    const opt = new optim.Adam([first], { lr: 0.1, amsgrad: true });
    run(opt, first, 1, 2);
    const saved = opt.stateDict();
    expect((saved.state[0]!['expAvg'] as o.Tensor).device.toString()).toBe('openreg:1');
    expect(saved.paramGroups).toEqual([{ lr: 0.1, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: true, maximize: false, params: [0] }]);
    const resumed = first.detach().clone().requiresGrad_();
    const opt2 = new optim.Adam([resumed], { lr: 0.5 });
    opt2.loadStateDict(saved);
    expect(opt2.paramGroups[0]!.options.lr).toBe(0.1);
    run(opt2, resumed, 3, 3);
    expect(await resumed.toArray()).toEqual(await straight.toArray());
  });

  it('applies each parameter group its own hyperparameters', async () => {
    const a = o.ones([2]).requiresGrad_();
    const b = o.ones([2]).requiresGrad_();
    const opt = new optim.SGD([{ params: [a] }, { params: [b], lr: 1 }], { lr: 0.1 });
    a.grad = o.ones([2]);
    b.grad = o.ones([2]);
    opt.step();
    expect(await a.toArray()).toEqual([0.8999999761581421, 0.8999999761581421]);
    expect(await b.toArray()).toEqual([0, 0]);
    opt.zeroGrad({ setToNone: false });
    expect(await a.grad!.toArray()).toEqual([0, 0]);
    opt.zeroGrad();
    expect(a.grad).toBeUndefined();
  });

  it('skips parameters without a gradient, as PyTorch does', async () => {
    const a = o.ones([1]).requiresGrad_();
    const opt = new optim.SGD([a], { lr: 1, momentum: 0.9 });
    opt.step();
    expect(await a.toArray()).toEqual([1]);
    expect(opt.state.size).toBe(0);
  });

  it('trains a module with a scheduler lowering the rate', async () => {
    const model = new nn.Linear(2, 1, { device: 'openreg:0' });
    const opt = new optim.SGD(model.parameters(), { lr: 0.01 });
    const sched = new optim.lrScheduler.CosineAnnealingLR(opt, { tMax: 10 });
    const x = o.tensor([[1, 2], [3, 4], [5, 6]], { ...F32, device: 'openreg:0' });
    const y = o.tensor([[1], [2], [3]], { ...F32, device: 'openreg:0' });
    const losses: number[] = [];
    for (let e = 0; e < 10; e++) {
      opt.zeroGrad();
      const loss = nn.functional.mseLoss(model.call(x), y);
      loss.backward();
      opt.step();
      sched.step();
      losses.push(await loss.item());
    }
    expect(losses[9]!).toBeLessThan(losses[0]!);
    expect(sched.getLastLr()[0]).toBeCloseTo(0, 12);
  });

  it('refuses bad arguments with a coded error naming the call', () => {
    const p = o.ones([2]).requiresGrad_();
    expect(expectCode(() => new optim.SGD([], { lr: 0.1 }), 'ERR_INVALID_VALUE').message).toMatch(/^SGD: optimizer got an empty parameter list/);
    expect(expectCode(() => new optim.SGD([p], {} as never), 'ERR_INVALID_VALUE').message).toMatch(/^SGD: options.lr is required/);
    expect(expectCode(() => new optim.SGD([p.mul(2)], { lr: 0.1 }), 'ERR_INVALID_VALUE').message).toMatch(/can't optimize a non-leaf tensor/);
    expect(expectCode(() => new optim.SGD([p, p], { lr: 0.1 }), 'ERR_INVALID_VALUE').message).toMatch(/more than one parameter group/);
    expect(expectCode(() => new optim.SGD([p], { lr: 0.1, nesterov: true }), 'ERR_INVALID_VALUE').message).toMatch(/nesterov momentum requires a momentum and zero dampening/);
    expect(expectCode(() => new optim.SGD([p], { lr: -1 }), 'ERR_INVALID_VALUE').message).toMatch(/^SGD: lr must be a finite number >= 0/);
    expect(expectCode(() => new optim.Adam([p], { betas: [0.9, 1] }), 'ERR_INVALID_VALUE').message).toMatch(/^Adam: betas must be two numbers in \[0, 1\)/);
    expect(expectCode(() => new optim.Adam([p], { lr: 0.1, momentum: 0.9 } as never), 'ERR_INVALID_VALUE').message).toMatch(/has no option "momentum"/);
    expect(expectCode(() => new optim.lrScheduler.StepLR(new optim.SGD([p], { lr: 1 }), { stepSize: 0 }), 'ERR_INVALID_VALUE').message).toMatch(/^StepLR: options.stepSize must be an integer >= 1/);
    const opt = new optim.SGD([p], { lr: 1 });
    expect(expectCode(() => opt.loadStateDict({ state: {}, paramGroups: [] }), 'ERR_INVALID_VALUE').message).toMatch(/^SGD.loadStateDict: the state dict has 0 parameter groups, the optimizer 1/);
  });
});

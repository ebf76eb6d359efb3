import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as o from '../dist/src/index.js';
import { useTensorRuntime } from './helpers.js';

// Every case of test/fixtures/torch-nn-reference.json (written by test/reference/torch_nn_reference.py
// from PyTorch 1.13, in float64) replayed on cpu and on an openreg device: each loss's value and
// input gradient, four steps of each optimizer configuration, the schedulers' rates, and five
// steps of a small network trained with nn and optim from PyTorch's weights.

interface Described {
  readonly dtype: o.DType;
  readonly shape: number[];
  readonly values: (number | string)[];
}
interface LossCase {
  readonly name: string;
  readonly fn: 'crossEntropy' | 'nllLoss' | 'mseLoss' | 'l1Loss' | 'binaryCrossEntropyWithLogits';
  readonly input: Described;
  readonly target: Described;
  readonly options: Record<string, unknown>;
  readonly expected: { value: Described; grad: Described };
}
interface LayerCase {
  readonly name: 'linear' | 'layerNorm' | 'batchNorm' | 'embedding' | 'conv2d' | 'maxPool2d' | 'avgPool2d';
  readonly args: unknown[];
  readonly options?: Record<string, never>;
  readonly differentiable: number[];
  readonly expected: { value: Described; grads: Described[]; after: Described[] };
}
interface OptimizerCase {
  readonly name: string;
  readonly optimizer: 'SGD' | 'Adam' | 'AdamW';
  readonly options: Record<string, unknown>;
  readonly param: Described;
  readonly grads: Described[];
  readonly expected: Described[];
}
interface SchedulerCase {
  readonly name: string;
  readonly scheduler: 'StepLR' | 'CosineAnnealingLR';
  readonly options: Record<string, number>;
  readonly lr: number;
  readonly expected: number[];
}
interface Training {
  initial: Record<string, Described>;
  input: Described;
  target: Described;
  losses: number[];
  final: Record<string, Described>;
}
const fixture = JSON.parse(readFileSync(new URL('./fixtures/torch-nn-reference.json', import.meta.url), 'utf8')) as {
  torch: string;
  losses: LossCase[];
  layers: LayerCase[];
  optimizers: OptimizerCase[];
  schedulers: SchedulerCase[];
  training: Training;
  cnnTraining: Training;
};

useTensorRuntime({ deviceCount: 1 });

const decode = (v: number | string) => (v === 'nan' ? NaN : v === 'inf' ? Infinity : v === '-inf' ? -Infinity : Number(v));

function build(d: Described, device: string): o.Tensor {
  return o.tensor(d.values.map(decode), { dtype: d.dtype, device }).reshape(...d.shape);
}

/** float64 throughout: PyTorch and openreg may differ only in summation order. */
async function expectClose(actual: o.Tensor, expected: Described, what: string): Promise<void> {
  expect(actual.dtype, what).toBe(expected.dtype);
  expect(actual.shape, what).toEqual(expected.shape);
  const got = Array.from(await actual.data(), Number);
  const want = expected.values.map(decode);
  for (let i = 0; i < want.length; i++) {
    const ok = Number.isNaN(want[i]!) ? Number.isNaN(got[i]!) : Math.abs(got[i]! - want[i]!) <= 1e-12 + 1e-9 * Math.abs(want[i]!);
    expect(ok, `${what}: element ${i} is ${got[i]}, PyTorch ${want[i]}`).toBe(true);
  }
}

function lossOptions(options: Record<string, unknown>, device: string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(options).map(([k, v]) => [k, typeof v === 'object' && v !== null && 'tensor' in v ? build((v as { tensor: Described }).tensor, device) : v]));
}

const withoutKernel = ({ kernelSize: _k, ...rest }: Record<string, never>) => rest;

const upstream = (y: o.Tensor) => o.tensor(Array.from({ length: y.numel() }, (_, i) => 1 + (i % 3) * 0.5), { dtype: y.dtype, device: y.device.toString() }).reshape(...y.shape);

for (const device of ['cpu', 'openreg']) {
  describe(`nn and optim on ${device} answer as PyTorch ${fixture.torch} does`, () => {
    it(`every loss gives PyTorch's value and input gradient (${fixture.losses.length} cases)`, async () => {
      for (const c of fixture.losses) {
        const x = build(c.input, device).requiresGrad_();
        const y = o.nn.functional[c.fn](x, build(c.target, device), lossOptions(c.options, device) as never);
        y.mul(upstream(y)).sum().backward();
        await expectClose(y, c.expected.value, `${c.name} value`);
        await expectClose(x.grad!, c.expected.grad, `${c.name} gradient`);
      }
    });

    it(`linear, layerNorm, batchNorm (training, with running statistics, and evaluation), embedding, conv2d (stride, padding, dilation, groups) and the poolings give PyTorch's values and gradients (${fixture.layers.length} cases)`, async () => {
      const F = o.nn.functional;
      for (const c of fixture.layers) {
        const args = c.args.map((a, i) => {
          if (typeof a !== 'object' || a === null || !('tensor' in a)) return a;
          const t = build((a as { tensor: Described }).tensor, device);
          return c.differentiable.includes(i) ? t.requiresGrad_() : t;
        }) as o.Tensor[];
        const y =
          c.name === 'linear' ? F.linear(args[0]!, args[1]!, args[2]) :
          c.name === 'layerNorm' ? F.layerNorm(args[0]!, args[0]!.shape.slice(args.length === 1 ? 1 : -1), args[1], args[2], args.length === 1 ? 1e-3 : 1e-5) :
          c.name === 'batchNorm' ? F.batchNorm(args[0]!, args[1], args[2], args[3], args[4], c.expected.after.length > 0, args[0]!.ndim === 4 ? 0.3 : 0.1, 1e-5) :
          c.name === 'conv2d' ? F.conv2d(args[0]!, args[1]!, args[2], c.options) :
          c.name === 'maxPool2d' ? F.maxPool2d(args[0]!, c.options!['kernelSize'], withoutKernel(c.options!)) :
          c.name === 'avgPool2d' ? F.avgPool2d(args[0]!, c.options!['kernelSize'], withoutKernel(c.options!)) :
          F.embedding(args[0]!, args[1]!, args[0]!.ndim === 2 ? 1 : undefined);
        y.mul(upstream(y)).sum().backward();
        await expectClose(y, c.expected.value, `${c.name} value`);
        for (const [k, i] of c.differentiable.entries()) await expectClose(args[i]!.grad!, c.expected.grads[k]!, `${c.name} gradient of argument ${i}`);
        for (const [k, d] of c.expected.after.entries()) await expectClose(args[k + 1]!, d, `${c.name} running statistic ${k}`);
      }
    });

    it(`every optimizer configuration takes PyTorch's steps (${fixture.optimizers.length} cases, 4 steps each)`, async () => {
      for (const c of fixture.optimizers) {
        const p = build(c.param, device).requiresGrad_();
        const opt = new o.optim[c.optimizer]([p], c.options as never);
        for (const [k, g] of c.grads.entries()) {
          p.grad = build(g, device);
          opt.step();
          await expectClose(p, c.expected[k]!, `${c.name} step ${k + 1}`);
        }
      }
    });

    it('a Sequential trained for five steps with crossEntropy and SGD momentum has PyTorch\'s losses and weights', async () => {
      const t = fixture.training;
      const model = new o.nn.Sequential(new o.nn.Linear(6, 8, { dtype: 'float64', device }), new o.nn.ReLU(), new o.nn.Linear(8, 4, { dtype: 'float64', device }));
      model.loadStateDict(Object.fromEntries(Object.entries(t.initial).map(([k, v]) => [k, build(v, device)])));
      const opt = new o.optim.SGD(model.parameters(), { lr: 0.2, momentum: 0.9 });
      const [x, y] = [build(t.input, device), build(t.target, device)];
      for (const expected of t.losses) {
        opt.zeroGrad();
        const loss = o.nn.functional.crossEntropy(model.call(x), y, { labelSmoothing: 0.05 });
        loss.backward();
        opt.step();
        expect(Math.abs((await loss.item<number>()) - expected)).toBeLessThan(1e-9 * Math.max(1, Math.abs(expected)));
      }
      for (const [name, value] of Object.entries(model.stateDict())) await expectClose(value, t.final[name]!, name);
    });

    it("the demo's CNN shape (conv → relu → max pool → linear) trained for three steps with SGD momentum has PyTorch's losses and weights", async () => {
      const t = fixture.cnnTraining;
      const f64 = { dtype: 'float64', device } as const;
      const model = new o.nn.Sequential(new o.nn.Conv2d(1, 3, 3, { padding: 1, ...f64 }), new o.nn.ReLU(), new o.nn.MaxPool2d(2), new o.nn.Flatten(), new o.nn.Linear(27, 4, f64));
      model.loadStateDict(Object.fromEntries(Object.entries(t.initial).map(([k, v]) => [k, build(v, device)])));
      const opt = new o.optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
      const [x, y] = [build(t.input, device), build(t.target, device)];
      for (const expected of t.losses) {
        opt.zeroGrad();
        const loss = o.nn.functional.crossEntropy(model.call(x), y);
        loss.backward();
        opt.step();
        expect(Math.abs((await loss.item<number>()) - expected)).toBeLessThan(1e-9 * Math.max(1, Math.abs(expected)));
      }
      for (const [name, value] of Object.entries(model.stateDict())) await expectClose(value, t.final[name]!, name);
    });
  });
}

it("the schedulers set PyTorch's learning rates, epoch by epoch", () => {
  for (const c of fixture.schedulers) {
    const p = o.zeros([1]).requiresGrad_();
    const opt = new o.optim.SGD([p], { lr: c.lr });
    const s = new o.optim.lrScheduler[c.scheduler](opt, c.options as never);
    const lrs = [s.getLastLr()[0]!];
    for (let e = 1; e < c.expected.length; e++) {
      s.step();
      lrs.push(s.getLastLr()[0]!);
    }
    lrs.forEach((lr, e) => expect(Math.abs(lr - c.expected[e]!), `${c.name} epoch ${e}`).toBeLessThan(1e-12));
  }
});

import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import * as o from '../dist/src/index.js';
import { expectCode, useTensorRuntime } from './helpers.js';

const { nn } = o;

useTensorRuntime({ deviceCount: 2 });

class Net extends nn.Module {
  fc1 = new nn.Linear(4, 3);
  act = new nn.ReLU();
  fc2 = new nn.Linear(3, 2, { bias: false });
  forward(x: o.Tensor): o.Tensor {
    return this.fc2.call(this.act.call(this.fc1.call(x)));
  }
}

describe('a Module', () => {
  it('finds its parameters, buffers and submodules in the order they were assigned, each shared tensor once', () => {
    const net = new Net();
    expect(net.namedParameters().map(([n, p]) => [n, p.shape])).toEqual([['fc1.weight', [3, 4]], ['fc1.bias', [3]], ['fc2.weight', [2, 3]]]);
    expect(net.namedChildren().map(([n]) => n)).toEqual(['fc1', 'act', 'fc2']);
    expect(net.namedModules().map(([n]) => n)).toEqual(['', 'fc1', 'act', 'fc2']);
    const tied = new nn.Sequential(net.fc1, net.fc1);
    expect(tied.parameters()).toHaveLength(2);
    const bn = new nn.BatchNorm1d(3);
    expect(bn.namedBuffers().map(([n]) => n)).toEqual(['runningMean', 'runningVar', 'numBatchesTracked']);
    expect(Object.keys(bn.stateDict())).toEqual(['weight', 'bias', 'runningMean', 'runningVar', 'numBatchesTracked']);
    bn.registerBuffer('scratch', o.zeros([3]), { persistent: false });
    expect(Object.keys(bn.stateDict())).not.toContain('scratch');
    expect(bn.buffers()).toHaveLength(4);
  });

  it('prints as PyTorch prints it', () => {
    expect(inspect(new nn.Sequential(new nn.Linear(2, 3), new nn.GELU('tanh'), new nn.Dropout(0.25)))).toBe(
      "Sequential(\n  (0): Linear(in_features=2, out_features=3, bias=True)\n  (1): GELU(approximate='tanh')\n  (2): Dropout(p=0.25)\n)",
    );
    expect(String(new nn.LayerNorm(8))).toBe('LayerNorm((8,), eps=1e-05, elementwise_affine=True)');
  });

  it('runs forward pre-hooks and hooks around forward, until they are removed', async () => {
    const lin = new nn.Linear(2, 2);
    const seen: string[] = [];
    const pre = lin.registerForwardPreHook((_m, inputs) => [(inputs[0] as o.Tensor).mul(0)]);
    const post = lin.registerForwardHook((_m, _inputs, out) => {
      seen.push('hook');
      return (out as o.Tensor).add(1);
    });
    const bias = (await lin.bias!.toArray()) as number[];
    expect(await lin.call(o.ones([1, 2])).toArray()).toEqual([bias.map((b: number) => Math.fround(b + 1))]);
    pre.remove();
    post.remove();
    const direct = await lin.forward(o.ones([1, 2])).toArray();
    expect(await lin.call(o.ones([1, 2])).toArray()).toEqual(direct);
    expect(seen).toEqual(['hook']);
  });

  it('switches every descendant between training and evaluation: dropout is the identity in eval', async () => {
    const net = new nn.Sequential(new nn.Dropout(0.5), new nn.Sequential(new nn.Dropout(0.9)));
    const x = o.ones([1000]);
    const trained = await net.call(x).toArray();
    expect(trained.some((v: number) => v === 0)).toBe(true);
    net.eval();
    expect(net.modules().every((m) => !m.training)).toBe(true);
    expect(await net.call(x).toArray()).toEqual(new Array(1000).fill(1));
    net.train();
    expect(net.at(1).training).toBe(true);
  });

  it('initializes Linear as PyTorch does, from the device generator: the same seed gives the same weights', async () => {
    o.manualSeed(7);
    const a = new nn.Linear(16, 4, { device: 'openreg:1' });
    o.manualSeed(7);
    const b = new nn.Linear(16, 4, { device: 'openreg:1' });
    expect(await a.weight.toArray()).toEqual(await b.weight.toArray());
    const values = ((await a.weight.toArray()) as number[][]).flat();
    expect(values.every((v) => Math.abs(v) <= 0.25)).toBe(true);
    expect(a.weight.device.toString()).toBe('openreg:1');
    expect(a.weight.requiresGrad && o.nn.isParameter(a.weight)).toBe(true);
  });

  it('moves to a device and casts to a dtype in place, keeping which tensors are parameters', async () => {
    const net = new Net().to('openreg:0');
    expect(net.parameters().every((p) => p.device.toString() === 'openreg:0' && o.nn.isParameter(p) && p.requiresGrad)).toBe(true);
    net.to('float64');
    expect(net.parameters().map((p) => p.dtype)).toEqual(['float64', 'float64', 'float64']);
    const bn = new nn.BatchNorm1d(2).to('float16');
    expect(bn.numBatchesTracked!.dtype).toBe('int64');
    expect(bn.runningMean!.dtype).toBe('float16');
  });

  it('round-trips its state dict through safetensors, and a mismatched one changes nothing', async () => {
    const net = new Net().to('openreg:0');
    const bytes = (await o.save(net.stateDict()))!;
    const copy = new Net();
    const result = copy.loadStateDict(await o.load(bytes));
    expect(result).toEqual({ missingKeys: [], unexpectedKeys: [] });
    for (const [name, t] of Object.entries(copy.stateDict())) expect(await t.toArray()).toEqual(await net.stateDict()[name]!.toArray());
    const before = await copy.fc1.weight.toArray();
    const bad = { ...net.stateDict(), extra: o.zeros([1]), 'fc1.weight': o.zeros([4, 3]) };
    const error = expectCode(() => copy.loadStateDict(bad), 'ERR_INVALID_VALUE');
    expect(error.message).toMatch(/unexpected keys extra; fc1.weight has shape \[4, 3\], the module's is \[3, 4\]/);
    expect(await copy.fc1.weight.toArray()).toEqual(before);
    const partial = copy.loadStateDict({ 'fc2.weight': o.ones([2, 3]) }, { strict: false });
    expect(partial.missingKeys).toEqual(['fc1.weight', 'fc1.bias']);
    expect(await copy.fc2.weight.toArray()).toEqual([[1, 1, 1], [1, 1, 1]]);
  });

  it('clears gradients to nothing or to zeros', async () => {
    const net = new Net();
    net.call(o.ones([2, 4])).sum().backward();
    net.zeroGrad({ setToNone: false });
    expect(await net.fc1.weight.grad!.toArray()).toEqual([[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]);
    net.zeroGrad();
    expect(net.parameters().every((p) => p.grad === undefined)).toBe(true);
  });

  it('updates batch norm running statistics in training and normalizes with them in eval', async () => {
    const bn = new nn.BatchNorm1d(1, { momentum: 0.5 });
    bn.call(o.tensor([[1], [3]], { dtype: 'float32' }));
    expect(await bn.runningMean!.toArray()).toEqual([1]);
    expect(await bn.runningVar!.toArray()).toEqual([1.5]);
    bn.eval();
    expect(await bn.call(o.tensor([[1]], { dtype: 'float32' })).toArray()).toEqual([[Math.fround(0 / Math.sqrt(1.5 + 1e-5))]]);
    expect(await bn.numBatchesTracked!.item()).toBe(1);
  });

  it('gives the embedding padding row no gradient', async () => {
    const emb = new nn.Embedding(4, 2, { paddingIdx: 0 });
    expect(await emb.weight.select(0, 0).toArray()).toEqual([0, 0]);
    emb.call(o.tensor([0, 2, 0], { dtype: 'int64' })).sum().backward();
    expect(await emb.weight.grad!.toArray()).toEqual([[0, 0], [0, 0], [1, 1], [0, 0]]);
  });

  it('prints and initializes Conv2d as PyTorch does, and its output has PyTorch\'s shape', async () => {
    const conv = new nn.Conv2d(4, 6, 3, { stride: 2, padding: 1, groups: 2 });
    expect(String(conv)).toBe('Conv2d(4, 6, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), groups=2)');
    expect(conv.weight.shape).toEqual([6, 2, 3, 3]);
    const bound = 1 / Math.sqrt(2 * 9);
    expect(((await conv.weight.toArray()) as number[][][][]).flat(3).every((v) => Math.abs(v) <= bound)).toBe(true);
    expect(conv.call(o.zeros([2, 4, 7, 9])).shape).toEqual([2, 6, 4, 5]);
    expect(new nn.MaxPool2d(2).call(o.zeros([1, 3, 5, 5])).shape).toEqual([1, 3, 2, 2]);
    expect(new nn.AvgPool2d(3, { stride: 1, padding: 1 }).call(o.zeros([1, 1, 4, 4])).shape).toEqual([1, 1, 4, 4]);
  });

  it('makes one-hot rows of class indices, and an index out of range fails as gather does', async () => {
    expect(await nn.functional.oneHot(o.tensor([[0, 2], [1, 1]], { dtype: 'int64' }), 3).toArray()).toEqual([[[1, 0, 0], [0, 0, 1]], [[0, 1, 0], [0, 1, 0]]]);
    const bad = nn.functional.oneHot(o.tensor([0, 3], { dtype: 'int64' }), 3);
    await expect(bad.data()).rejects.toMatchObject({ code: 'ERR_LAUNCH_FAILURE' });
    expect(expectCode(() => nn.functional.oneHot(o.tensor([0, 1], { dtype: 'int32' }), 2), 'ERR_INVALID_VALUE').message).toMatch(/only applicable to index tensors \(int64\)/);
  });

  it('refuses bad arguments with a coded error naming the call', () => {
    expect(expectCode(() => new nn.Conv2d(3, 4, 3, { groups: 2 }), 'ERR_INVALID_VALUE').message).toMatch(/^Conv2d: inChannels and outChannels must be divisible by groups/);
    expect(expectCode(() => nn.functional.conv2d(o.zeros([1, 3, 4, 4]), o.zeros([2, 2, 3, 3])), 'ERR_INVALID_VALUE').message).toMatch(/^conv2d: expected input with 2 channels/);
    expect(expectCode(() => nn.functional.conv2d(o.zeros([1, 1, 2, 2]), o.zeros([1, 1, 3, 3])), 'ERR_INVALID_VALUE').message).toMatch(/^conv2d: the window \[3, 3\] .* does not fit the padded input \[2, 2\]/);
    expect(expectCode(() => nn.functional.maxPool2d(o.zeros([1, 1, 4, 4]), 2, { pad: 1 } as never), 'ERR_INVALID_VALUE').message).toMatch(/has no option "pad"/);
    expect(expectCode(() => nn.functional.maxPool2d(o.zeros([1, 1, 4, 4]), 2, { padding: 2 }), 'ERR_INVALID_VALUE').message).toMatch(/padding should be at most half of the kernel size/);
    expect(expectCode(() => new nn.Linear(-1, 2), 'ERR_INVALID_VALUE').message).toMatch(/^Linear: inFeatures must be an integer >= 0/);
    expect(expectCode(() => new nn.Linear(2, 2, { bias: 1 as never }), 'ERR_INVALID_VALUE').message).toMatch(/^Linear: options.bias must be a boolean/);
    expect(expectCode(() => new nn.Linear(2, 2, { colour: 1 } as never), 'ERR_INVALID_VALUE').message).toMatch(/has no option "colour"/);
    expect(expectCode(() => new nn.Dropout(1.5), 'ERR_INVALID_VALUE').message).toMatch(/^Dropout: p must be a probability/);
    expect(expectCode(() => new Net().registerParameter('w', o.zeros([1])), 'ERR_INVALID_VALUE').message).toMatch(/made by Parameter/);
    expect(expectCode(() => new Net().registerModule('a.b', new nn.ReLU()), 'ERR_INVALID_VALUE').message).toMatch(/must not contain "."/);
    expect(expectCode(() => new nn.Sequential(new nn.ReLU()).at(1), 'ERR_INVALID_VALUE').message).toMatch(/^Sequential.at: index must be an integer in \[-1, 0\]/);
    expect(expectCode(() => new nn.ModuleList([new nn.ReLU()]).call(), 'ERR_INVALID_VALUE').message).toMatch(/has no forward/);
    expect(expectCode(() => new nn.BatchNorm2d(2).call(o.zeros([2, 2])), 'ERR_INVALID_VALUE').message).toMatch(/expected 4-D input/);
    expect(expectCode(() => nn.functional.crossEntropy(o.zeros([2, 3]), o.tensor([0, 1], { dtype: 'int32' })), 'ERR_INVALID_VALUE').message).toMatch(/^crossEntropy: expected class indices of dtype int64/);
    expect(expectCode(() => nn.functional.mseLoss(o.zeros([2]), o.zeros([2]), { reduction: 'avg' as never }), 'ERR_INVALID_VALUE').message).toMatch(/reduction must be one of mean, sum, none/);
    expect(expectCode(() => nn.functional.nllLoss(o.zeros([2, 3]), o.tensor([0, 1], { dtype: 'int64' }), { labelSmoothing: 0.1 } as never), 'ERR_INVALID_VALUE').message).toMatch(/has no option "labelSmoothing"/);
    expect(expectCode(() => nn.functional.mseLoss(o.zeros([2]), o.zeros([3])), 'ERR_INVALID_VALUE').message).toMatch(/^mseLoss: target shape \[3\] must be the input's \[2\]/);
  });
});

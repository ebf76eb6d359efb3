import { expect, it } from 'vitest';
import * as o from '../dist/src/index.js';
import { createRuntime, gate, useTensorRuntime } from './helpers.js';
import { type BadCall, testBadCalls } from './bad-calls.js';

// Every public call of the tensor layer rejects bad input with a coded error naming the call.
let x: o.Tensor;
let rt: o.Runtime;
useTensorRuntime({ deviceCount: 2 }, (r) => {
  rt = r;
  x = o.tensor([[1, 2], [3, 4]], { dtype: 'float32', device: 'openreg' });
});

const bad = (v: unknown) => v as never;
const CASES: [call: string, code: string, fn: () => unknown][] = [
  ['add', 'ERR_INVALID_VALUE', () => x.add(bad(null))],
  ['add', 'ERR_INVALID_VALUE', () => x.add(1, bad('z'))],
  ['add', 'ERR_INVALID_VALUE', () => x.add(o.zeros([2], { device: 'openreg:1' }))],
  ['view', 'ERR_INVALID_VALUE', () => x.view(1.5)],
  ['reshape', 'ERR_INVALID_VALUE', () => x.reshape(bad({}))],
  ['slice', 'ERR_INVALID_VALUE', () => x.slice(bad('a'))],
  ['slice', 'ERR_INVALID_VALUE', () => x.slice(0, 0, 2, 0)],
  ['select', 'ERR_INVALID_VALUE', () => x.select(0, 5)],
  ['transpose', 'ERR_INVALID_VALUE', () => x.transpose(0, 9)],
  ['permute', 'ERR_INVALID_VALUE', () => x.permute(0, 0)],
  ['expand', 'ERR_INVALID_VALUE', () => x.expand(3, 3)],
  ['asStrided', 'ERR_INVALID_VALUE', () => x.asStrided(bad('a'), [1])],
  ['unsqueeze', 'ERR_INVALID_VALUE', () => x.unsqueeze(7)],
  ['to', 'ERR_INVALID_VALUE', () => x.to(bad({}))],
  ['to', 'ERR_INVALID_VALUE', () => x.to('cpu', { dtype: bad('nope') })],
  ['to', 'ERR_INVALID_DEVICE', () => x.to('openreg:7')],
  ['copy_', 'ERR_INVALID_VALUE', () => x.copy_(bad(5))],
  ['copy_', 'ERR_INVALID_VALUE', () => x.copy_(o.zeros([3]))],
  ['matmul', 'ERR_INVALID_VALUE', () => x.matmul(bad(5))],
  ['matmul', 'ERR_INVALID_VALUE', () => x.matmul(o.zeros([3, 2], { device: 'openreg' }))],
  ['mm', 'ERR_INVALID_VALUE', () => x.mm(o.zeros([2], { device: 'openreg' }))],
  ['dot', 'ERR_INVALID_VALUE', () => x.dot(x)],
  ['softmax', 'ERR_INVALID_VALUE', () => x.softmax(9)],
  ['softmax', 'ERR_INVALID_VALUE', () => o.tensor([1, 2], { device: 'openreg' }).softmax(0)],
  ['sum', 'ERR_INVALID_VALUE', () => x.sum([0, 0])],
  ['mean', 'ERR_INVALID_VALUE', () => o.tensor([1, 2], { device: 'openreg' }).mean()],
  ['max', 'ERR_INVALID_VALUE', () => o.zeros([0], { device: 'openreg' }).max()],
  ['recordStream', 'ERR_INVALID_VALUE', () => x.recordStream(bad(5))],
  ['fill_', 'ERR_INVALID_VALUE', () => x.fill_(bad('a'))],
  ['div_', 'ERR_INVALID_VALUE', () => o.tensor([1], { device: 'openreg', dtype: 'int32' }).div_(2)],
  ['itemSync', 'ERR_INVALID_VALUE', () => x.itemSync()],
  ['requiresGrad', 'ERR_INVALID_VALUE', () => (x.requiresGrad = bad(5))],
  ['backward', 'ERR_INVALID_VALUE', () => x.backward()],
  ['tensor', 'ERR_INVALID_VALUE', () => o.tensor(undefined)],
  ['tensor', 'ERR_INVALID_VALUE', () => o.tensor([[1], [2, 3]])],
  ['zeros', 'ERR_INVALID_VALUE', () => o.zeros(bad('a'))],
  ['zeros', 'ERR_INVALID_VALUE', () => o.zeros([2], bad(5))],
  ['zeros', 'ERR_INVALID_VALUE', () => o.zeros([2], { device: 5.5 })],
  ['full', 'ERR_INVALID_VALUE', () => o.full([2], bad('x'))],
  ['arange', 'ERR_INVALID_VALUE', () => o.arange(Number.NaN)],
  ['empty', 'ERR_INVALID_VALUE', () => o.empty([-1])],
  ['emptyStrided', 'ERR_INVALID_VALUE', () => o.emptyStrided([2], [1, 2])],
  ['rand', 'ERR_INVALID_VALUE', () => o.rand([2], { generator: bad(5) })],
  ['rand', 'ERR_INVALID_VALUE', () => o.rand([2], { requiresGrad: bad('yes') })],
  ['Library', 'ERR_INVALID_VALUE', () => new o.Library(bad(5))],
  ['callOp', 'ERR_INVALID_VALUE', () => o.callOp('zz::yy')],
  ['registerStub', 'ERR_INVALID_VALUE', () => o.registerStub('', 'openreg', () => undefined)],
  ['registerStub', 'ERR_INVALID_VALUE', () => o.registerStub('x_stub', bad('cuda'), () => undefined)],
  ['setRngState', 'ERR_INVALID_VALUE', () => o.setRngState(bad(5))],
  ['getRngState', 'ERR_INVALID_VALUE', () => o.getRngState('gpu')],
  ['manualSeed', 'ERR_INVALID_VALUE', () => o.manualSeed(bad('a'))],
  ['noGrad', 'ERR_INVALID_VALUE', () => o.noGrad(bad(5))],
  ['withGradEnabled', 'ERR_INVALID_VALUE', () => o.withGradEnabled(bad('x'), () => 0)],
  ['kernelsOf', 'ERR_INVALID_VALUE', () => o.kernelsOf(bad(5))],
  ['device', 'ERR_INVALID_VALUE', () => o.device(1.5)],
  ['library.define', 'ERR_INVALID_VALUE', () => new o.Library('badns').define('bad')],
  ['library.impl', 'ERR_INVALID_VALUE', () => new o.Library('badns2').impl('missing', 'openreg', () => 0)],
  // Issue 15: values that do not fit, cycles, overlap, limits, null, unknown keys, fakes, disposed operands.
  ['tensor', 'ERR_INVALID_VALUE', () => o.tensor([300], { dtype: 'uint8' })],
  ['tensor', 'ERR_INVALID_VALUE', () => o.tensor([2 ** 31], { dtype: 'int32' })],
  ['tensor', 'ERR_INVALID_VALUE', () => o.tensor([Number.NaN], { dtype: 'int32' })],
  ['tensor', 'ERR_INVALID_VALUE', () => o.tensor([-1], { dtype: 'uint8' })],
  ['tensor', 'ERR_INVALID_VALUE', () => o.tensor([2n ** 63n])],
  ['tensor', 'ERR_INVALID_VALUE', () => o.tensor(cyclic())],
  ['tensor', 'ERR_INVALID_VALUE', () => o.tensor(bad([1, , 3]))],
  ['tensor', 'ERR_INVALID_VALUE', () => o.tensor(nested(65))],
  ['tensor', 'ERR_INVALID_VALUE', () => o.tensor([1], bad({ dtyp: 'int32' }))],
  ['full', 'ERR_INVALID_VALUE', () => o.full([2], 300, { dtype: 'uint8' })],
  ['fill_', 'ERR_INVALID_VALUE', () => o.zeros([2], { dtype: 'int32' }).fill_(2 ** 40)],
  ['add', 'ERR_INVALID_VALUE', () => o.tensor([1, 2]).add(o.tensor([1, 2]), 0.5)],
  ['add_', 'ERR_INVALID_VALUE', () => o.tensor([1, 2], { device: 'openreg' }).add_(1, 0.5)],
  ['add', 'ERR_INVALID_VALUE', () => x.add(1, bad(null))],
  ['copy_', 'ERR_INVALID_VALUE', () => o.zeros([1, 3]).expand(2, 3).copy_(o.ones([2, 3]))],
  ['add_', 'ERR_INVALID_VALUE', () => o.zeros([1, 3], { device: 'openreg' }).expand(2, 3).add_(1)],
  ['fill_', 'ERR_INVALID_VALUE', () => o.zeros([1, 3], { device: 'openreg' }).expand(2, 3).fill_(1)],
  ['mul_', 'ERR_INVALID_VALUE', () => o.zeros([3, 1]).expand(3, 4).mul_(2)],
  ['empty', 'ERR_INVALID_VALUE', () => o.empty(new Array(65).fill(1))],
  ['rand', 'ERR_INVALID_VALUE', () => o.rand(new Array(65).fill(1))],
  ['randn', 'ERR_INVALID_VALUE', () => o.randn(new Array(65).fill(1), { device: 'openreg' })],
  ['emptyStrided', 'ERR_INVALID_VALUE', () => o.emptyStrided(new Array(65).fill(1), new Array(65).fill(1))],
  ['view', 'ERR_INVALID_VALUE', () => x.view(...new Array(64).fill(1), 4)],
  ['reshape', 'ERR_INVALID_VALUE', () => x.reshape(...new Array(64).fill(1), 4)],
  ['unsqueeze', 'ERR_INVALID_VALUE', () => o.zeros(new Array(64).fill(1)).unsqueeze(0)],
  ['zeros', 'ERR_INVALID_VALUE', () => o.zeros([2 ** 53])],
  ['expand', 'ERR_INVALID_VALUE', () => o.zeros([1, 1, 1]).expand(2 ** 53, 2, 3)],
  ['slice', 'ERR_INVALID_VALUE', () => x.slice(bad(null))],
  ['slice', 'ERR_INVALID_VALUE', () => x.slice(0, 0, 2, bad(null))],
  ['slice', 'ERR_INVALID_VALUE', () => x.slice(0, bad(null))],
  ['asStrided', 'ERR_INVALID_VALUE', () => x.asStrided([2], [1], bad(null))],
  ['sum', 'ERR_INVALID_VALUE', () => x.sum(0, bad('x'))],
  ['sum', 'ERR_INVALID_VALUE', () => x.sum(0, bad(1))],
  ['mean', 'ERR_INVALID_VALUE', () => x.mean(0, bad(null))],
  ['amax', 'ERR_INVALID_VALUE', () => x.amax(0, bad(null))],
  ['max', 'ERR_INVALID_VALUE', () => x.max(0, bad('yes'))],
  ['amax', 'ERR_INVALID_VALUE', () => o.zeros([0], { device: 'openreg' }).amax()],
  ['getRngState', 'ERR_INVALID_VALUE', () => o.getRngState(bad(null))],
  ['manualSeed', 'ERR_INVALID_VALUE', () => o.manualSeed(2n ** 64n)],
  ['manualSeed', 'ERR_INVALID_VALUE', () => o.manualSeed(-(2n ** 63n) - 1n)],
  ['setRngState', 'ERR_INVALID_VALUE', () => o.setRngState(new Uint8Array(3))],
  ['to', 'ERR_INVALID_VALUE', () => x.to('cpu', bad(null))],
  ['to', 'ERR_INVALID_VALUE', () => x.to('cpu', bad(5))],
  ['to', 'ERR_INVALID_VALUE', () => x.to('cpu', bad({ copy: 'yes' }))],
  ['to', 'ERR_INVALID_VALUE', () => x.to('cpu', bad({ dtpye: 'int32' }))],
  ['to', 'ERR_INVALID_VALUE', () => x.to(bad(null))],
  ['device', 'ERR_INVALID_VALUE', () => o.device('openreg:01')],
  ['t', 'ERR_INVALID_VALUE', () => o.zeros([2, 2, 2]).t()],
  ['zerosLike', 'ERR_INVALID_VALUE', () => o.zerosLike(bad(null))],
  ['onesLike', 'ERR_INVALID_VALUE', () => o.onesLike(bad({ shape: [2] }))],
  ['zerosLike', 'ERR_INVALID_HANDLE', () => o.zerosLike(disposed())],
  ['zerosLike', 'ERR_INVALID_VALUE', () => o.zerosLike(x, bad({ bogus: 1 }))],
  ['relu', 'ERR_INVALID_VALUE', () => o.tensor([true, false], { device: 'openreg' }).relu()],
  ['resultType', 'ERR_INVALID_VALUE', () => o.resultType(bad(5))],
  ['resultType', 'ERR_INVALID_VALUE', () => o.resultType(['float32'], bad(['complex']))],
  ['promoteTypes', 'ERR_INVALID_VALUE', () => o.promoteTypes(bad('bogus'), 'float32')],
  ['rand', 'ERR_INVALID_VALUE', () => o.rand([2], bad({ generater: 5 }))],
  ['add', 'ERR_INVALID_HANDLE', () => x.add(disposed())],
  ['exp', 'ERR_INVALID_HANDLE', () => disposed().exp()],
  ['sum', 'ERR_INVALID_HANDLE', () => disposed().sum()],
  ['toArraySync', 'ERR_INVALID_HANDLE', () => disposed().toArraySync()],
  ['cpuSync', 'ERR_INVALID_HANDLE', () => disposed().cpuSync()],
  ['add', 'ERR_INVALID_VALUE', () => x.add(fake())],
  ['mul', 'ERR_INVALID_VALUE', () => fake().mul(2)],
  ['matmul', 'ERR_INVALID_VALUE', () => x.matmul(fake())],
  ['copy_', 'ERR_INVALID_VALUE', () => x.copy_(fake())],
  ['sum', 'ERR_INVALID_VALUE', () => fake().sum()],
  ['view', 'ERR_INVALID_VALUE', () => fake().view(4)],
  // From the bad-input campaign: names, holes, arrays as options, extra arguments, partial overlap, PyTorch's refusals.
  ['zeros', 'ERR_OUT_OF_MEMORY', () => o.zeros([2 ** 40], { device: 'openreg' })],
  ['zeros', 'ERR_INVALID_VALUE', () => o.zeros(bad([, 2]))],
  ['zeros', 'ERR_INVALID_VALUE', () => o.zeros([2], bad([]))],
  ['zeros', 'ERR_INVALID_VALUE', () => (o.zeros as (...a: unknown[]) => unknown)([2], {}, 'extra')],
  ['zeros', 'ERR_INVALID_VALUE', () => o.zeros([2], { dtype: 'int64', requiresGrad: true })],
  ['zerosLike', 'ERR_INVALID_VALUE', () => o.zerosLike(x, { dtype: bad('x') })],
  ['arange', 'ERR_INVALID_VALUE', () => o.arange(2 ** 60)],
  ['arange', 'ERR_INVALID_VALUE', () => o.arange(0, 5, 1, { dtype: 'bool' })],
  ['arange', 'ERR_INVALID_VALUE', () => o.arange(0, 300, 1, { dtype: 'uint8' })],
  ['callOp', 'ERR_INVALID_VALUE', () => o.callOp('full', [2], 300, 'uint8', 'cpu')],
  ['callOp', 'ERR_INVALID_VALUE', () => o.callOp('full', [2, -1], 1, 'float32', 'cpu')],
  ['tensor', 'ERR_INVALID_VALUE', () => o.tensor(fake())],
  ['flatten', 'ERR_INVALID_HANDLE', () => disposed().flatten()],
  ['flatten', 'ERR_INVALID_VALUE', () => x.flatten(1, 0)],
  ['zero_', 'ERR_INVALID_VALUE', () => o.zeros([1, 3]).expand(2, 3).zero_()],
  ['requiresGrad_', 'ERR_INVALID_VALUE', () => o.zeros([2], { dtype: 'int32' }).requiresGrad_()],
  ['exp', 'ERR_INVALID_VALUE', () => (x.exp as (...a: unknown[]) => unknown)(1)],
  ['softmax', 'ERR_INVALID_VALUE', () => (x.softmax as (...a: unknown[]) => unknown)(0, 'bogus')],
  ['copy_', 'ERR_INVALID_VALUE', () => square().copy_(lastSquare.t())],
  ['add_', 'ERR_INVALID_VALUE', () => square().add_(lastSquare.t())],
  ['pow', 'ERR_INVALID_VALUE', () => o.tensor([1, 2]).pow(-1)],
  ['sub', 'ERR_INVALID_VALUE', () => o.tensor([true]).sub(bad(true))],
  ['add', 'ERR_INVALID_VALUE', () => o.tensor([true]).add(o.tensor([true]), 0.5)],
  ['add', 'ERR_INVALID_VALUE', () => x.add(1, bad(true))],
  ['abs', 'ERR_INVALID_VALUE', () => o.tensor([true]).abs()],
  ['maximum', 'ERR_INVALID_VALUE', () => x.maximum(bad(5))],
  ['grad', 'ERR_INVALID_VALUE', () => (o.zeros([2]).grad = bad(5))],
  ['grad', 'ERR_INVALID_VALUE', () => (o.zeros([2]).grad = o.zeros([3]))],
  ['numel', 'ERR_INVALID_VALUE', () => fake().numel()],
  ['t', 'ERR_INVALID_VALUE', () => fake().t()],
  ['Tensor', 'ERR_INVALID_VALUE', () => new (o.Tensor as unknown as new () => o.Tensor)()],
  ['device', 'ERR_INVALID_VALUE', () => (o.device as (...a: unknown[]) => unknown)('bogus', 'hijacked')],
  ['device', 'ERR_INVALID_VALUE', () => o.device(Object.create(o.TensorDevice.prototype) as o.TensorDevice)],
  ['recordStream', 'ERR_INVALID_VALUE', () => o.zeros([2]).recordStream(rt.getCurrentStream(0))],
];

/** A 2x2 cpu tensor, kept in `lastSquare` for rows that use it twice. */
let lastSquare: o.Tensor;
function square(): o.Tensor {
  lastSquare = o.tensor([[1, 2], [3, 4]]);
  return lastSquare;
}

/** An array that contains itself. */
function cyclic(): never {
  const a: unknown[] = [1];
  a[0] = a;
  return a as never;
}

function nested(depth: number): never {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = [v];
  return v as never;
}

function disposed(shape = [2]): o.Tensor {
  const t = o.zeros(shape, { device: 'openreg' });
  t.dispose();
  return t;
}

/** An object that only looks like a tensor. */
const fake = (): o.Tensor => Object.create(o.Tensor.prototype) as o.Tensor;

// Promise-returning calls reject (never throw) with a coded error naming the call.
const ASYNC_CASES: BadCall[] = [
  ['data', 'ERR_INVALID_HANDLE', () => disposed().data()],
  ['ready', 'ERR_INVALID_HANDLE', () => disposed().ready()],
  ['toArray', 'ERR_INVALID_HANDLE', () => disposed().toArray()],
  ['item', 'ERR_INVALID_HANDLE', () => disposed([1]).item()],
  ['cpu', 'ERR_INVALID_HANDLE', () => disposed().cpu()],
  ['data', 'ERR_INVALID_VALUE', () => x.data(bad({ timeoutMs: -1 }))],
  ['toArray', 'ERR_INVALID_VALUE', () => x.toArray(bad({ timeoutMs: 'soon' }))],
  ['data', 'ERR_INVALID_VALUE', () => fake().data()],
  ['item', 'ERR_INVALID_VALUE', () => fake().item()],
  ['toArray', 'ERR_INVALID_VALUE', () => (x.toArray as (...a: unknown[]) => Promise<unknown>)({}, 'extra')],
  ['ready', 'ERR_ABORTED', () => x.ready({ signal: AbortSignal.abort() })],
  ['toArray', 'ERR_ABORTED', () => x.toArray({ signal: AbortSignal.abort() })],
];

testBadCalls(ASYNC_CASES, new Set(ASYNC_CASES.map(([call]) => call)));

it('a read that times out names the read, not the wait it used', async () => {
  await using rt = await createRuntime({ deviceCount: 1 });
  const t = o.zeros([2], { device: o.device('openreg', rt) });
  const held = gate(rt, rt.getCurrentStream(0));
  try {
    const caught = await t.toArray({ timeoutMs: 20 }).then(
      () => undefined,
      (error: unknown) => error as o.OpenRegError,
    );
    expect(caught?.code).toBe('ERR_TIMEOUT');
    expect(caught?.message).toMatch(/^toArray: /);
  } finally {
    held.open();
  }
  await t.ready();
});

testBadCalls(CASES);

it('bad input loses nothing: the tensor and the devices still work', async () => {
  expect(await x.add(1).toArray()).toEqual([[2, 3], [4, 5]]);
});

it('a tensor of another runtime is refused, never read through this runtime\'s memory', async () => {
  const mine = o.ones([2], { device: 'openreg' });
  await using other = await createRuntime({ deviceCount: 1 });
  const theirs = o.full([2], 5, { device: o.device('openreg', other) });
  expect(other.closed).toBe(false);
  // Native kernels and CPU-fallback ops (sub.Tensor, maximum) alike.
  for (const fn of [() => mine.add(theirs), () => theirs.add(mine), () => mine.add_(theirs), () => mine.copy_(theirs), () => theirs.mul(mine), () => mine.sub(theirs), () => mine.maximum(theirs), () => mine.mm(theirs.view(2, 1))]) {
    let caught: unknown;
    try {
      fn();
    } catch (error) {
      caught = error;
    }
    expect((caught as o.OpenRegError).code).toBe('ERR_INVALID_HANDLE');
    expect((caught as o.OpenRegError).message).toMatch(/belongs to another runtime/);
  }
  expect(await mine.toArray()).toEqual([1, 1]);
  expect(await theirs.toArray()).toEqual([5, 5]);
  await other.close();
  let caught: unknown;
  try {
    theirs.add(1);
  } catch (error) {
    caught = error;
  }
  expect((caught as o.OpenRegError).code).toBe('ERR_RUNTIME_CLOSED');
  expect((caught as o.OpenRegError).message).toMatch(/^add: /);
});

it('a timeout beyond what a timer can hold never ends the wait early', async () => {
  expect(await x.toArray({ timeoutMs: 2 ** 53 })).toEqual([[1, 2], [3, 4]]);
  expect(await x.add(1).toArray({ timeoutMs: 2 ** 31 })).toEqual([[2, 3], [4, 5]]);
});

it('flatten merges startDim..endDim as PyTorch does', async () => {
  const t = o.arange(0, 24, 1, { device: 'openreg' }).view(2, 3, 4);
  expect(t.flatten().shape).toEqual([24]);
  expect(t.flatten(1).shape).toEqual([2, 12]);
  expect(t.flatten(0, 1).shape).toEqual([6, 4]);
  expect(t.flatten(-2, -1).shape).toEqual([2, 12]);
  expect(o.tensor(3).flatten().shape).toEqual([1]);
});

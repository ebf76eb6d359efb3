import { expect, it } from 'vitest';
import * as o from '../dist/src/index.js';
import { useTensorRuntime } from './helpers.js';

// Every public call of the tensor layer rejects bad input with a coded error naming the call.
let x: o.Tensor;
useTensorRuntime({ deviceCount: 2 }, () => {
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
];

it.each(CASES.map(([call, code, fn], i) => ({ i, call, code, fn })))('#$i: $call rejects bad input with $code naming the call', ({ call, code, fn }) => {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(o.OpenRegError);
  expect((caught as o.OpenRegError).code).toBe(code);
  expect((caught as o.OpenRegError).message.startsWith(`${call}: `)).toBe(true);
});

it('bad input loses nothing: the tensor and the devices still work', async () => {
  expect(await x.add(1).toArray()).toEqual([[2, 3], [4, 5]]);
});

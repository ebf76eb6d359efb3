import { describe, expect, it } from 'vitest';
import {
  ErrorCode,
  type Runtime,
  Tensor,
  arange,
  device,
  deviceCount,
  empty,
  emptyStrided,
  full,
  isAvailable,
  ones,
  onesLike,
  rand,
  randn,
  tensor,
  zeros,
} from '../dist/src/index.js';
import { expectCode, useTensorRuntime } from './helpers.js';

// Ports the factory and copy cases of OpenReg's test_ops.py and test_device.py.
let rt: Runtime;
useTensorRuntime({ deviceCount: 2 }, (r) => (rt = r));

describe('the seed example', () => {
  it('adds on device 0 and reads back [[3, 4], [5, 6]]', async () => {
    const x = tensor([[1, 2], [3, 4]], { device: 'openreg' });
    const y = x.add(2);
    expect(y.device.toString()).toBe('openreg:0');
    expect(await (await y.cpu()).toArray()).toEqual([[3, 4], [5, 6]]);
    expect(y.cpuSync().toArraySync()).toEqual([[3, 4], [5, 6]]);
  });

  it('runs on the current device of the runtime guard (withDevice)', async () => {
    const y = rt.withDevice(1, () => tensor([1, 2], { device: 'openreg' }).mul(3));
    expect(y.device.toString()).toBe('openreg:1');
    expect(await y.toArray()).toEqual([3, 6]);
  });
});

describe('devices as a framework sees them', () => {
  it('parses device names and counts devices', () => {
    expect(device('openreg:1').index).toBe(1);
    expect(device('cpu').toString()).toBe('cpu');
    expect(device(0).equals(device('openreg:0'))).toBe(true);
    expect(isAvailable()).toBe(true);
    expect(deviceCount()).toBe(2);
  });

  it('rejects unknown devices and indices past the count with coded errors', () => {
    expectCode(() => device('cuda:0'), ErrorCode.INVALID_VALUE);
    expectCode(() => device('cpu:1'), ErrorCode.INVALID_VALUE);
    expectCode(() => zeros([2], { device: 'openreg:2' }), ErrorCode.INVALID_DEVICE);
  });
});

describe('factories', () => {
  it('empty, zeros, ones, full, emptyStrided and arange make tensors of the right device, shape and values', async () => {
    const e = empty(3, { device: 'openreg' });
    expect([e.device.type, e.shape]).toEqual(['openreg', [3]]);
    expect(await zeros([2, 2], { device: 'openreg:1' }).toArray()).toEqual([[0, 0], [0, 0]]);
    expect(await ones([3, 4], { device: 'openreg' }).eq(1).sum().item()).toBe(12);
    expect(await full([3, 4], 5, { device: 'openreg' }).eq(5).sum().item()).toBe(12);
    const s = emptyStrided([3, 4], [4, 1], { device: 'openreg' });
    expect([s.shape, s.strides]).toEqual([[3, 4], [4, 1]]);
    const a = arange(5, undefined, 1, { device: 'openreg' });
    expect(a.dtype).toBe('int64');
    expect(await a.toArray()).toEqual([0, 1, 2, 3, 4]);
    expect(await arange(0, 1, 0.25, { device: 'openreg' }).toArray()).toEqual([0, 0.25, 0.5, 0.75]);
  });

  it('infers dtypes as torch.tensor does and makes an empty tensor from []', async () => {
    expect(tensor([1, 2]).dtype).toBe('int64');
    expect(tensor([1.5]).dtype).toBe('float32');
    expect(tensor([true, false]).dtype).toBe('bool');
    const z = tensor([], { device: 'openreg' });
    expect([z.device.type, z.shape]).toEqual(['openreg', [0]]);
    expect(await z.toArray()).toEqual([]);
  });

  it('onesLike keeps device and dtype; randn and rand are on the device with the right shape', async () => {
    const x = randn([3, 4], { device: 'openreg' });
    const y = onesLike(x);
    expect([y.device.toString(), y.dtype, y.shape]).toEqual(['openreg:0', 'float32', [3, 4]]);
    const r = (await rand([1000], { device: 'openreg:1' }).data()) as Float32Array;
    expect(Math.min(...r)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...r)).toBeLessThan(1);
  });

  it('rejects malformed shapes, dtypes and data with coded errors naming the call', () => {
    expect(expectCode(() => zeros([2, -3]), ErrorCode.INVALID_VALUE).message).toMatch(/^zeros: /);
    expect(expectCode(() => ones([2], { dtype: 'float8' as never }), ErrorCode.INVALID_VALUE).message).toMatch(/^ones: /);
    expect(expectCode(() => tensor([[1, 2], [3]]), ErrorCode.INVALID_VALUE).message).toMatch(/rectangular/);
    expectCode(() => tensor([1, 'a'] as never), ErrorCode.INVALID_VALUE);
    expectCode(() => arange(0, 10, -1), ErrorCode.INVALID_VALUE);
    expectCode(() => rand([2], { dtype: 'int32' }), ErrorCode.INVALID_VALUE);
  });
});

describe('copies', () => {
  it('clone on the same device has its own pointer and equal values', async () => {
    const a = ones(10, { device: 'openreg' });
    const b = a.clone();
    expect(b.dataPtr()).not.toBe(a.dataPtr());
    expect(await b.toArray()).toEqual(await a.toArray());
  });

  it('round-trips cpu → openreg → cpu with an op in between', async () => {
    const a = rand([10]);
    const b = await a.to('openreg').add(2).cpu();
    const expected = ((await a.data()) as Float32Array).map((v) => v + 2);
    expect(await b.data()).toEqual(expected);
  });

  it('copies between openreg devices (peer copies) and back', async () => {
    const a = ones(10, { device: 'openreg:0' }).to('openreg:1');
    expect(a.device.toString()).toBe('openreg:1');
    expect(await a.to('cpu').toArray()).toEqual(new Array(10).fill(1));
  });

  it('gives disjoint pointers on different devices', () => {
    const a = zeros([4], { device: 'openreg:0' });
    const b = zeros([4], { device: 'openreg:1' });
    expect(rt.pointerGetAttributes(a.dataPtr()).device).toBe(0);
    expect(rt.pointerGetAttributes(b.dataPtr()).device).toBe(1);
    expect(a.dataPtr()).not.toBe(b.dataPtr());
  });

  it('copy_ converts dtypes (float32 into float64) and broadcasts', async () => {
    const x = randn([3, 4], { device: 'openreg' });
    const y = empty([3, 4], { dtype: 'float64', device: 'openreg' });
    y.copy_(x);
    expect(y.dtype).toBe('float64');
    expect(Array.from((await y.data()) as Float64Array)).toEqual(Array.from((await x.data()) as Float32Array));
    const row = tensor([1, 2, 3], { dtype: 'float32', device: 'openreg:1' });
    const m = zeros([2, 3], { device: 'openreg:0' }).copy_(row);
    expect(await m.toArray()).toEqual([[1, 2, 3], [1, 2, 3]]);
  });

  it('converts to every dtype and back, float16 and bfloat16 rounding to nearest even', async () => {
    const values = [0, 1, -2.5, 1 / 3, 65504, 1e-8];
    const x = tensor(values, { dtype: 'float64', device: 'openreg' });
    expect(await x.to('float16').toArray()).toEqual([0, 1, -2.5, 0.333251953125, 65504, 0]);
    expect(await x.to('bfloat16').toArray()).toEqual([0, 1, -2.5, 0.333984375, 65536, 1.0011717677116394e-8]);
    expect(await x.to('int32').toArray()).toEqual([0, 1, -2, 0, 65504, 0]);
    expect(await x.to('bool').toArray()).toEqual([false, true, true, true, true, true]);
    expect(await x.to('uint8').to('cpu').toArray()).toEqual([0, 1, 254, 0, 224, 0]);
  });

  it('item() reads a one-element tensor and refuses larger ones', async () => {
    expect(await tensor([5.0], { device: 'openreg' }).item()).toBe(5);
    expect(tensor([5.0], { device: 'openreg' }).itemSync()).toBe(5);
    expectCode(() => tensor([1, 2], { device: 'openreg' }).itemSync(), ErrorCode.INVALID_VALUE);
  });

  it('refuses to read or copy out of a meta tensor, and makes meta outputs for every builtin op', async () => {
    const m = empty([3, 4], { device: 'meta' });
    const out = m.mm(m.t()).softmax(1).sum(0);
    expect([out.device.type, out.shape]).toEqual(['meta', [3]]);
    expectCode(() => m.dataSync(), ErrorCode.INVALID_VALUE);
    expectCode(() => zeros([3, 4]).copy_(m), ErrorCode.INVALID_VALUE);
  });

  it('a disposed tensor is a coded error to use, and dispose is idempotent', () => {
    const t = zeros([2], { device: 'openreg' });
    t.dispose();
    t.dispose();
    expect(t.disposed).toBe(true);
    expectCode(() => t.add(1), ErrorCode.INVALID_HANDLE);
    expect(t).toBeInstanceOf(Tensor);
  });
});

import { describe, expect, it } from 'vitest';
import {
  type Runtime,
  type Stream,
  empty,
  getRngState,
  manualSeed,
  ones,
  rand,
  randn,
  setRngState,
  tensor,
  zeros,
} from '../dist/src/index.js';
import { expectCode, gate, useTensorRuntime } from './helpers.js';

// Tensors with streams, events and generators (OpenReg's test_streams.py, test_event.py,
// test_rng.py and test_memory.py, as they apply to tensors).
let rt: Runtime;
useTensorRuntime({ deviceCount: 2 }, (r) => (rt = r));

describe('streams', () => {
  it('ops launch on the current stream of the tensor’s device', async () => {
    const side = rt.streamCreate();
    const streams: Stream[] = [];
    const stop = rt.observe({ kernelLaunch: (e) => void streams.push(e.stream) });
    const x = ones([4], { device: 'openreg' });
    const y = rt.withStream(side, () => x.add(1));
    stop();
    expect(streams.at(-1)).toBe(side);
    await rt.streamSynchronize(side);
    expect(await y.toArray()).toEqual([2, 2, 2, 2]);
    rt.streamDestroy(side);
  });

  it('an event orders a tensor op on one stream after a producer on another', async () => {
    const producer = rt.streamCreate();
    const consumer = rt.streamCreate();
    const x = zeros([4], { device: 'openreg' });
    await rt.deviceSynchronize();
    const g = gate(rt, producer);
    rt.withStream(producer, () => x.fill_(5));
    const done = rt.eventCreate();
    rt.eventRecord(done, producer);
    rt.streamWaitEvent(consumer, done);
    const y = rt.withStream(consumer, () => x.mul(2));
    y.recordStream(consumer);
    g.open();
    await rt.streamSynchronize(consumer);
    expect(await rt.withStream(consumer, () => y.toArray())).toEqual([10, 10, 10, 10]);
    for (const s of [producer, consumer]) rt.streamDestroy(s);
  });

  it('freed storage is reused at once on its own stream, and only after recordStream work on another', async () => {
    const a = empty([256], { device: 'openreg' });
    const ptr = a.dataPtr();
    a.dispose();
    const b = empty([256], { device: 'openreg' });
    expect(b.dataPtr()).toBe(ptr); // same stream: stream order makes reuse safe

    const side = rt.streamCreate();
    const g = gate(rt, side);
    rt.withStream(side, () => b.fill_(1));
    b.recordStream(side);
    b.dispose();
    const c = empty([256], { device: 'openreg' });
    expect(c.dataPtr()).not.toBe(ptr); // the side stream may still write it
    g.open();
    await rt.streamSynchronize(side);
    rt.streamDestroy(side);
  });
});

describe('generators', () => {
  it('manualSeed makes draws repeat, per device and on the cpu', async () => {
    manualSeed(42);
    const a0 = await rand([8], { device: 'openreg:0' }).data();
    const a1 = await randn([8], { device: 'openreg:1' }).data();
    const c = await rand([8]).data();
    manualSeed(42);
    expect(await rand([8], { device: 'openreg:0' }).data()).toEqual(a0);
    expect(await randn([8], { device: 'openreg:1' }).data()).toEqual(a1);
    expect(await rand([8]).data()).toEqual(c);
    expect(c).toEqual(a0); // one Philox stream: the host draws what a device draws
  });

  it('getRngState / setRngState replay a device’s draws without touching the others', async () => {
    manualSeed(7);
    const state0 = getRngState('openreg:0');
    expect([state0.dtype, state0.shape]).toEqual(['uint8', [16]]);
    const first = await rand([4], { device: 'openreg:0' }).data();
    const other = getRngState('openreg:1');
    await rand([4], { device: 'openreg:1' }).data();
    setRngState(state0, 'openreg:0');
    expect(await rand([4], { device: 'openreg:0' }).data()).toEqual(first);
    expect(getRngState('openreg:1').dataSync()).not.toEqual(other.dataSync());
    expectCode(() => setRngState(zeros([3]), 'openreg:0'), 'ERR_INVALID_VALUE');
  });

  it('a generator of one device cannot fill another', () => {
    expectCode(() => rand([2], { device: 'openreg:1', generator: rt.newGenerator(0) }), 'ERR_INVALID_VALUE');
  });
});

describe('concurrent work on two devices', () => {
  it('interleaved async pipelines on both devices give the sequential results', async () => {
    const pipeline = async (device: string, seed: number) => {
      let x = tensor([seed, seed + 1, seed + 2], { dtype: 'float32', device });
      for (let i = 0; i < 20; i++) {
        x = x.mul(2).sub(tensor([1, 1, 1], { dtype: 'float32', device })).relu();
        if (i % 5 === 0) await x.data(); // yields to the other pipeline mid-way
      }
      return Array.from((await x.data()) as Float32Array);
    };
    const sequential = [await pipeline('openreg:0', 1), await pipeline('openreg:1', 2)];
    const concurrent = await Promise.all([pipeline('openreg:0', 1), pipeline('openreg:1', 2)]);
    expect(concurrent).toEqual(sequential);
  });
});

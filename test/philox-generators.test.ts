import { describe, expect, it } from 'vitest';
import { ErrorCode, Generator, type KernelModule, type Runtime, philox4x32 } from '../dist/src/index.js';
import { expectBytes, expectCode, useRuntime } from './helpers.js';

const hex = (words: Uint32Array) => Array.from(words, (w) => w.toString(16).padStart(8, '0'));

describe('Philox4x32-10', () => {
  it('matches the Random123 known-answer vectors', () => {
    expect(hex(philox4x32(0, 0, 0, 0, 0, 0))).toEqual(['6627e8d5', 'e169c58d', 'bc57ac4c', '9b00dbd8']);
    const ones = 0xffffffff;
    expect(hex(philox4x32(ones, ones, ones, ones, ones, ones))).toEqual(['408f276d', '41c83b0e', 'a20bc7c6', '6d5451fd']);
    expect(hex(philox4x32(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0))).toEqual([
      'd16cfe09',
      '94fdcceb',
      '5001e420',
      '24126ea1',
    ]);
  });
});

describe('per-device generators and random fills', () => {
  let rt: Runtime;
  let mod: KernelModule;
  useRuntime({ deviceMemoryBytes: 16 << 20 }, (r, kernels) => {
    rt = r;
    mod = kernels;
  });

  const read = async (ptr: number, bytes: number) => {
    const out = new Uint8Array(bytes);
    await rt.memcpy(out, ptr, bytes);
    return out;
  };

  it('has one lazily created default generator per device', () => {
    const g0 = rt.defaultGenerator();
    expect(g0).toBeInstanceOf(Generator);
    expect(rt.defaultGenerator(0)).toBe(g0);
    expect(rt.defaultGenerator(1)).not.toBe(g0);
    expect(rt.defaultGenerator(1).device).toBe(1);
    expect(rt.newGenerator(1)).not.toBe(rt.defaultGenerator(1));
    expectCode(() => rt.defaultGenerator(2), ErrorCode.INVALID_DEVICE);
    expectCode(() => rt.newGenerator(-1), ErrorCode.INVALID_DEVICE);
  });

  it('seeds: manualSeed resets the offset, seed() is fresh, initialSeed reports it', () => {
    rt.manualSeed(123);
    expect(rt.initialSeed()).toBe(123n);
    expect(rt.defaultGenerator().getOffset()).toBe(0);
    const a = rt.seed();
    const b = rt.seed();
    expect(typeof a).toBe('bigint');
    expect(a).not.toBe(b);
    expect(rt.initialSeed()).toBe(b);
    rt.manualSeedAll(7);
    expect(rt.defaultGenerator(1).initialSeed()).toBe(7n);
    expectCode(() => rt.manualSeed(1.5), ErrorCode.INVALID_VALUE);
  });

  it('state is 16 bytes (seed, offset little-endian) and round-trips', () => {
    const g = rt.newGenerator(0);
    g.manualSeed(0x0102030405060708n);
    g.setOffset(16);
    const state = g.getState();
    expect(Array.from(state)).toEqual([8, 7, 6, 5, 4, 3, 2, 1, 16, 0, 0, 0, 0, 0, 0, 0]);
    const h = rt.newGenerator(0);
    h.setState(state);
    expect(h.initialSeed()).toBe(0x0102030405060708n);
    expect(h.getOffset()).toBe(16);
    expectCode(() => h.setState(new Uint8Array(15)), ErrorCode.INVALID_VALUE);
    expectCode(() => h.setState('state' as never), ErrorCode.INVALID_VALUE);
    expectCode(() => h.setOffset(6), ErrorCode.INVALID_VALUE);
    expectCode(() => h.setOffset(-4), ErrorCode.INVALID_VALUE);
  });

  it('restoring a state reproduces the draws', async () => {
    const n = 1000;
    const p = rt.malloc(n * 4);
    const q = rt.malloc(n * 4);
    rt.manualSeed(99);
    rt.randomUniform(p, 10); // advance
    const saved = rt.defaultGenerator().getState();
    rt.randomNormal(p, n);
    rt.defaultGenerator().setState(saved);
    rt.randomNormal(q, n);
    expectBytes(await read(q, n * 4), await read(p, n * 4));
    rt.free(p);
    rt.free(q);
  });

  it('each launch reserves its offset range on the host, rounded up to 4', () => {
    const g = rt.newGenerator(0);
    const p = rt.malloc(64 * 8);
    rt.randomUniform(p, 5, { generator: g });
    expect(g.getOffset()).toBe(8);
    rt.randomUniform(p, 5, { generator: g, dtype: 'float64' }); // two values per element
    expect(g.getOffset()).toBe(20);
    rt.randomNormal(p, 3, { generator: g });
    expect(g.getOffset()).toBe(28);
    rt.randomInt(p, 4, 0, 10, { generator: g });
    expect(g.getOffset()).toBe(32);
    rt.free(p);
  });

  it('results depend only on seed, offset and index: the same on every device', async () => {
    const n = 4096;
    const on0 = rt.malloc(n * 4);
    const on1 = rt.withDevice(1, () => rt.malloc(n * 4));
    rt.manualSeedAll(2024);
    rt.randomNormal(on0, n, { mean: 1, std: 2 });
    rt.randomNormal(on1, n, { mean: 1, std: 2 });
    expectBytes(await read(on1, n * 4), await read(on0, n * 4));
    rt.free(on0);
    rt.free(on1);
  });

  it('results do not depend on how a draw is split between launches, streams or devices', async () => {
    const n = 3000;
    const split = 1024; // a multiple of 4: the second launch starts where the first ended
    for (const dtype of ['float32', 'float64'] as const) {
      const size = dtype === 'float64' ? 8 : 4;
      const whole = rt.malloc(n * size);
      const parts = rt.malloc(n * size);
      const second = rt.withDevice(1, () => rt.malloc((n - split) * size));
      const g1 = rt.newGenerator(0).manualSeed(5);
      rt.randomUniform(whole, n, { dtype, generator: g1 });
      const g2 = rt.newGenerator(0).manualSeed(5);
      rt.randomUniform(parts, split, { dtype, generator: g2, stream: rt.streamCreate() });
      // The rest of the same draw, on another device: same seed, the offset where g2 stopped.
      const g3 = rt.newGenerator(1).manualSeed(5);
      g3.setOffset(g2.getOffset());
      rt.randomUniform(second, n - split, { dtype, generator: g3 });
      await rt.memcpy(parts + split * size, second, (n - split) * size);
      expectBytes(await read(parts, n * size), await read(whole, n * size));
      [whole, parts, second].forEach((p) => rt.free(p));
    }
  });

  it('uniform samples: in [0, 1), mean 1/2, variance 1/12', async () => {
    const n = 1 << 18;
    const p = rt.malloc(n * 8);
    rt.manualSeed(1);
    for (const dtype of ['float32', 'float64'] as const) {
      rt.randomUniform(p, n, { dtype });
      const bytes = await read(p, n * (dtype === 'float64' ? 8 : 4));
      const v = dtype === 'float64' ? new Float64Array(bytes.buffer) : new Float32Array(bytes.buffer);
      let sum = 0;
      let sq = 0;
      let min = 1;
      let max = 0;
      for (const x of v) {
        sum += x;
        sq += x * x;
        min = Math.min(min, x);
        max = Math.max(max, x);
      }
      const mean = sum / n;
      expect(min).toBeGreaterThanOrEqual(0);
      expect(max).toBeLessThan(1);
      expect(Math.abs(mean - 0.5)).toBeLessThan(0.005);
      expect(Math.abs(sq / n - mean * mean - 1 / 12)).toBeLessThan(0.002);
    }
    rt.free(p);
  });

  it('normal samples: mean and standard deviation as asked', async () => {
    const n = 1 << 18;
    const p = rt.malloc(n * 8);
    rt.randomNormal(p, n, { dtype: 'float64', mean: 3, std: 0.5 });
    const v = new Float64Array((await read(p, n * 8)).buffer);
    let sum = 0;
    let sq = 0;
    for (const x of v) {
      sum += x;
      sq += x * x;
    }
    const mean = sum / n;
    const std = Math.sqrt(sq / n - mean * mean);
    expect(Math.abs(mean - 3)).toBeLessThan(0.01);
    expect(Math.abs(std - 0.5)).toBeLessThan(0.01);
    rt.free(p);
  });

  it('integer samples: in [low, high), every value about equally often', async () => {
    const n = 60_000;
    const p = rt.malloc(n * 4);
    rt.randomInt(p, n, -3, 3);
    const v = new Int32Array((await read(p, n * 4)).buffer);
    const counts = new Map<number, number>();
    for (const x of v) counts.set(x, (counts.get(x) ?? 0) + 1);
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual([-3, -2, -1, 0, 1, 2]);
    for (const c of counts.values()) expect(Math.abs(c - n / 6)).toBeLessThan(n / 6 / 10);
    rt.randomInt(p, 10, 0, 1000, { dtype: 'float32' });
    const f = new Float32Array((await read(p, 40)).buffer);
    expect(f.every((x) => Number.isInteger(x) && x >= 0 && x < 1000)).toBe(true);
    rt.free(p);
  });

  it('the exported Philox function works inside a custom kernel', async () => {
    const out = rt.malloc(16);
    rt.launchKernel(mod.getFunction('philoxBlock'), [out, 0, 0, 0]);
    const v = new Uint32Array((await read(out, 16)).buffer);
    expect(hex(v)).toEqual(['6627e8d5', 'e169c58d', 'bc57ac4c', '9b00dbd8']);
    rt.free(out);
  });

  it('rejects a generator or stream of another device, and bad arguments', () => {
    const p = rt.malloc(64);
    expect(expectCode(() => rt.randomUniform(p, 4, { generator: rt.defaultGenerator(1) }), ErrorCode.INVALID_VALUE).message).toMatch(
      /generator belongs to device 1 but the buffer is on device 0/,
    );
    expectCode(() => rt.randomUniform(p, 4, { stream: rt.defaultStream(1) }), ErrorCode.INVALID_VALUE);
    expectCode(() => rt.randomUniform(p, 4, { generator: {} as never }), ErrorCode.INVALID_VALUE);
    expectCode(() => rt.randomUniform(p, 4, { dtype: 'int32' as never }), ErrorCode.INVALID_VALUE);
    expectCode(() => rt.randomUniform(p, 17), ErrorCode.INVALID_VALUE); // past the end
    expectCode(() => rt.randomUniform(p, -1), ErrorCode.INVALID_VALUE);
    expectCode(() => rt.randomNormal(p, 4, { std: -1 }), ErrorCode.INVALID_VALUE);
    expectCode(() => rt.randomInt(p, 4, 5, 5), ErrorCode.INVALID_VALUE);
    expectCode(() => rt.randomInt(p, 4, 0, 2 ** 31 + 1), ErrorCode.INVALID_VALUE);
    expectCode(() => rt.randomInt(p, 4, 0.5, 3), ErrorCode.INVALID_VALUE);
    rt.free(p);
  });

  it('rejects a misaligned buffer at the call, leaving the device healthy', () => {
    const p = rt.malloc(64);
    expect(expectCode(() => rt.randomUniform(p + 1, 4), ErrorCode.INVALID_VALUE).message).toMatch(/^randomUniform: ptr must be aligned to 4 bytes/);
    expectCode(() => rt.randomNormal(p + 4, 4, { dtype: 'float64' }), ErrorCode.INVALID_VALUE);
    rt.randomUniform(p + 4, 4);
    rt.deviceSynchronizeSync();
    rt.free(p);
  });

  it('a generator refuses a reservation that would corrupt its offset', () => {
    const g = rt.newGenerator(0);
    g.setOffset(8);
    for (const bad of [Number.NaN, -8, 1.5, '4']) expectCode(() => g.reserve(bad as never), ErrorCode.INVALID_VALUE);
    expect(g.getOffset()).toBe(8);
    expect(g.reserve(5)).toBe(8);
    expect(g.getOffset()).toBe(16);
  });
});

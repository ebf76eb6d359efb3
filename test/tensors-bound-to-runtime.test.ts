import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import * as o from '../dist/src/index.js';
import { openregTest } from '../dist/src/testing/vitest.js';
import { createRuntime, expectCode } from './helpers.js';

// A device's identity includes its runtime. 'openreg:N' means the backend's runtime — the one
// open longest, as CUDA's runtime API means the primary context — and a runtime made while it
// is open is a driver-level handle whose devices are named explicitly: device('openreg:N', rt).
const open: o.Runtime[] = [];
async function runtime(): Promise<o.Runtime> {
  const rt = await createRuntime({ deviceCount: 1 });
  open.push(rt);
  return rt;
}

afterEach(async () => {
  for (const rt of open.splice(0)) await rt.close();
  await o.shutdownCpuPool();
});

it('openreg tensors go to the runtime open longest, not to the newest one', async () => {
  const first = await runtime();
  const second = await runtime();
  const x = o.tensor([1, 2], { device: 'openreg:0' });
  expect(x.device.runtime).toBe(first);
  expect(x.device.runtime).not.toBe(second);
  const y = o.tensor([10, 20], { device: o.device('openreg:0', second) });
  expect(y.device.runtime).toBe(second);
  expect(String(y.device)).toBe('openreg:0');
  expect(x.device.equals(y.device)).toBe(false);
  expect(await y.add(y).toArray()).toEqual([20, 40]);
});

it('tensors of two runtimes never mix: each op refuses them with a coded error, in either order', async () => {
  const first = await runtime();
  const second = await runtime();
  const x = o.tensor([1, 2], { device: o.device('openreg:0', first) });
  const y = o.tensor([10, 20], { device: o.device('openreg:0', second) });
  for (const fn of [() => x.add(y), () => y.add(x), () => x.copy_(y), () => y.mul(x), () => x.sub(y)]) {
    expect(expectCode(fn, 'ERR_INVALID_HANDLE').message).toMatch(/belongs to another runtime/);
  }
  expect(await x.add(x).toArray()).toEqual([2, 4]);
  expect(await y.add(y).toArray()).toEqual([20, 40]);
});

it('once the backend runtime closes, the one open longest after it serves openreg devices', async () => {
  const first = await runtime();
  const second = await runtime();
  await first.close();
  const x = o.zeros([2], { device: 'openreg' });
  expect(x.device.runtime).toBe(second);
  expect(o.deviceCount()).toBe(second.getDeviceCount());
});

it('manualSeed seeds the backend runtime: its draws repeat, whatever runtime was made last', async () => {
  const first = await runtime();
  o.manualSeed(7);
  const a = await o.rand([4], { device: 'openreg' }).toArray();
  await runtime();
  o.manualSeed(7);
  const b = await o.rand([4], { device: 'openreg' }).toArray();
  expect(b).toEqual(a);
  expect(o.rand([1], { device: 'openreg' }).device.runtime).toBe(first);
});

it('a device of a closed runtime, or of a runtime that is not one, is refused', async () => {
  const rt = await runtime();
  const d = o.device('openreg:0', rt);
  await rt.close();
  expectCode(() => o.zeros([1], { device: d }), 'ERR_RUNTIME_CLOSED');
  expectCode(() => o.device('openreg:0', rt), 'ERR_RUNTIME_CLOSED');
  expectCode(() => o.device('openreg:0', {} as o.Runtime), 'ERR_INVALID_VALUE');
  expectCode(() => o.device('cpu', rt), 'ERR_INVALID_VALUE');
});

const fixtureTest = openregTest({ deviceCount: 1, deviceMemoryBytes: 8 << 20, hostMemoryBytes: 8 << 20 });
let kept: o.Tensor | undefined;

fixtureTest('in a fixture test, openreg means the fixture runtime', async ({ rt }) => {
  kept = o.zeros([2], { device: 'openreg' });
  expect(kept.device.runtime).toBe(rt);
});

fixtureTest('a tensor kept from an earlier fixture test is refused, never read', async ({ rt }) => {
  expect(kept!.device.runtime).not.toBe(rt);
  expectCode(() => kept!.add(1), 'ERR_RUNTIME_CLOSED');
});

describe('the openreg/vitest fixture', () => {
  const fixtureTest = openregTest({ deviceCount: 3 });
  fixtureTest('gives every test its runtime, even one that never names rt: openreg devices mean it', async () => {
    const t = o.tensor([1, 2], { device: 'openreg' });
    expect([o.deviceCount(), t.device.runtime?.options.deviceCount]).toEqual([3, 3]);
    expect(await t.add(1).toArray()).toEqual([2, 3]);
  });
});

it('the package ships source maps with their sources inlined: stack traces resolve to real lines', () => {
  const map = JSON.parse(readFileSync(new URL('../dist/src/tensor/tensor.js.map', import.meta.url), 'utf8')) as { sourcesContent?: string[] };
  expect(map.sourcesContent?.[0]).toContain('export class Tensor');
});

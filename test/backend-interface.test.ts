import { expect, it } from 'vitest';
import * as o from '../dist/src/index.js';
import { backendApi } from '../dist/src/backends/backend-api.js';
import { expectCode, useTensorRuntime } from './helpers.js';

// What every device backend provides to the generic ops (random fills here), so that a
// third device type never gets memory the op did not fill.
useTensorRuntime({ deviceCount: 1 });

it("rand on a device type whose executor has no random fills is refused, never returned uninitialized", () => {
  type HostExecutor = { device: unknown; empty: (...a: unknown[]) => unknown; launch: (...a: unknown[]) => unknown };
  let host: HostExecutor | undefined;
  // A deliberately partial executor (the public BackendExecutor type would refuse it): cast.
  backendApi.registerDeviceType('norand', {
    deviceCount: () => 1,
    currentDevice: () => 0,
    executor: () => {
      host ??= backendApi.hostExecutor(o.device('norand:0')) as HostExecutor;
      const h = host;
      // A backend that implements memory and kernels but not random fills.
      return { device: h.device, empty: h.empty.bind(h), launch: h.launch.bind(h) };
    },
  } as never);
  backendApi.implementBuiltins('norand');
  const error = expectCode(() => o.rand([4], { device: 'norand:0' }), 'ERR_NOT_SUPPORTED');
  expect(error.message).toMatch(/^rand: .*random fills.*norand/);
  expectCode(() => o.randn([4], { device: 'norand' }), 'ERR_NOT_SUPPORTED');
});

it('rand on the cpu, openreg and meta backends fills through each executor', async () => {
  o.manualSeed(3);
  const cpu = await o.rand([3]).toArray() as number[];
  expect(cpu.every((v) => v >= 0 && v < 1)).toBe(true);
  const dev = await o.randn([3], { device: 'openreg' }).toArray() as number[];
  expect(dev.every(Number.isFinite)).toBe(true);
  expect(o.rand([2, 2], { device: 'meta' }).shape).toEqual([2, 2]);
});

it('copies, the CPU fallback and save/load reach a device only through its backend executor', async () => {
  const { DeviceExecutor } = await import('../dist/src/ops/device-executor.js');
  const methods = ['copyToHost', 'copyFromHost', 'peerCopy', 'readChunks', 'writeChunks'] as const;
  const calls: string[] = [];
  const proto = DeviceExecutor.prototype as unknown as Record<string, (...a: unknown[]) => unknown>;
  const originals = methods.map((m) => proto[m]!);
  methods.forEach((m, i) => (proto[m] = function (this: unknown, ...a: unknown[]) {
    calls.push(m);
    return originals[i]!.apply(this, a);
  }));
  try {
    const x = o.tensor([1, 2, 3], { dtype: 'float32' }).to('openreg');
    expect(calls).toEqual(['copyFromHost']);
    expect(await x.to('cpu').toArray()).toEqual([1, 2, 3]);
    expect(calls.at(-1)).toBe('copyToHost');
    // hypot is bound to the CPU fallback on openreg: the fallback moves its input out and its result back.
    calls.length = 0;
    const y = x.hypot(x);
    expect(calls).toEqual(['copyToHost', 'copyFromHost']); // x once, though it is both arguments
    expect((await y.toArray() as number[]).map((v) => v.toFixed(4))).toEqual([1, 2, 3].map((v) => Math.hypot(v, v).toFixed(4)));
    calls.length = 0;
    const bytes = await o.save({ x });
    expect(calls).toEqual(['readChunks']);
    calls.length = 0;
    const back = await o.load(bytes!);
    expect(calls).toEqual(['writeChunks']);
    expect(await back.x!.toArray()).toEqual([1, 2, 3]);
  } finally {
    methods.forEach((m, i) => (proto[m] = originals[i]!));
  }
});

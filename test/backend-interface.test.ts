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
  // The executor hook is internal to the published types (item 6 of issue 16 makes it public): cast.
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

import { describe, expect, it } from 'vitest';
import { ErrorCode, type HookEvents, type KernelModule, type Runtime } from '../dist/src/index.js';
import { expectCode, expectRejectCode, gate, useRuntime } from './helpers.js';

describe('hook registries', () => {
  let rt: Runtime;
  let mod: KernelModule;
  useRuntime({}, (r, kernels) => {
    rt = r;
    mod = kernels;
  });

  it('answers the capability side of the hooks interface', () => {
    expect(rt.hooks.getPinnedMemoryAllocator()).toBe(rt.hostAllocator);
    const pinned = rt.mallocHost(100);
    expect(rt.hooks.isPinnedPtr(pinned.subarray(50))).toBe(true);
    expect(rt.hooks.isPinnedPtr(new Uint8Array(4))).toBe(false);
    expect(rt.hooks.getDefaultGenerator(1)).toBe(rt.defaultGenerator(1));
    expect(rt.hooks.getNewGenerator(1)).not.toBe(rt.defaultGenerator(1));
    expect(rt.hooks.hasPrimaryContext(0)).toBe(true);
    const p = rt.withDevice(1, () => rt.malloc(64));
    expect(rt.hooks.getDeviceFromPtr(p + 10)).toBe(1);
    expectCode(() => rt.hooks.getDeviceFromPtr(42), ErrorCode.INVALID_VALUE);
    expectCode(() => rt.hooks.hasPrimaryContext(2), ErrorCode.INVALID_DEVICE);
    rt.free(p);
    rt.freeHost(pinned);
  });

  it('reports allocation, kernel launch, copy, synchronization and free, in order, per device', async () => {
    const seen: string[] = [];
    const record =
      <T extends keyof HookEvents>(type: T) =>
      (e: HookEvents[T]) =>
        seen.push(`${type}@${e.device}`);
    const disposers = (['allocation', 'kernelLaunch', 'copy', 'synchronization', 'free'] as const).map((t) => rt.hooks.on(0, t, record(t)));
    const onOne = rt.hooks.on(1, 'allocation', record('allocation'));
    const p = rt.malloc(64);
    rt.launchKernel(mod.getFunction('fill'), [p, 16, 1]);
    const out = new Float32Array(16);
    rt.memcpySync(out, p, 64);
    await rt.deviceSynchronize();
    rt.free(p);
    expect(seen).toEqual(['allocation@0', 'kernelLaunch@0', 'copy@0', 'synchronization@0', 'free@0']);
    for (const d of [...disposers, onOne]) d();
    rt.free(rt.malloc(64));
    expect(seen.length).toBe(5); // disposed: nothing more
  });

  it('calls hooks in registration order; a disposer works once, also with using', () => {
    const order: number[] = [];
    const first = rt.hooks.on(0, 'allocation', () => order.push(1));
    {
      using _second = rt.hooks.on(0, 'allocation', () => order.push(2));
      rt.free(rt.malloc(16));
    }
    rt.free(rt.malloc(16));
    first();
    first();
    rt.free(rt.malloc(16));
    expect(order).toEqual([1, 2, 1]);
  });

  it('a hook that throws is reported as a warning and breaks nothing', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    let after = 0;
    const bad = rt.hooks.on(0, 'kernelLaunch', () => {
      throw new Error('hook exploded');
    });
    const good = rt.hooks.on(0, 'kernelLaunch', () => after++);
    rt.launchKernel(mod.getFunction('empty'), []);
    await rt.deviceSynchronize();
    await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    process.off('warning', onWarning);
    bad();
    good();
    expect(after).toBe(1);
    expect(warnings.some((w) => (w as { code?: string }).code === 'OPENREG_HOOK_ERROR' && /hook exploded/.test(w.message))).toBe(true);
  });

  it('reports a device error once', async () => {
    const errors: string[] = [];
    const dispose = rt.hooks.on(1, 'error', (e) => errors.push(e.error.code));
    await rt.withDevice(1, async () => {
      rt.launchKernel(mod.getFunction('boom'), []);
      await expectRejectCode(rt.deviceSynchronize(), ErrorCode.LAUNCH_FAILURE);
      expectCode(() => rt.malloc(8), ErrorCode.LAUNCH_FAILURE);
    });
    expect(errors).toEqual(['ERR_LAUNCH_FAILURE']);
    await rt.deviceReset(1);
    dispose();
  });

  it('reports memsets, host functions, event records and waits, implicit ones included', async () => {
    const seen: string[] = [];
    const disposers = [
      rt.hooks.on(0, 'memset', (e) => seen.push(`memset ${e.bytes} on ${e.stream}`)),
      rt.hooks.on(0, 'hostFunction', (e) => seen.push(`hostFunction on ${e.stream}`)),
      rt.hooks.on(0, 'eventRecord', (e) => seen.push(`eventRecord on ${e.stream}`)),
      rt.hooks.on(0, 'streamWait', (e) => seen.push(`${e.cause}: ${e.stream} waits for ${e.onDevice}/${e.onStream}`)),
    ];
    const s = rt.streamCreate();
    const p = rt.malloc(64);
    const g = gate(rt, s);
    rt.eventRecord(rt.eventCreate(), s);
    rt.memsetAsync(p, 0, 64); // default stream after s: an implicit wait
    g.open();
    await rt.deviceSynchronize();
    for (const d of disposers) d();
    rt.free(p);
    s.destroy();
    expect(seen).toEqual([`hostFunction on ${s.id}`, `eventRecord on ${s.id}`, `legacyDefaultStream: 0 waits for 0/${s.id}`, 'memset 64 on 0']);
  });

  it('validates registrations', () => {
    expectCode(() => rt.hooks.on(5, 'free', () => 0), ErrorCode.INVALID_DEVICE);
    expectCode(() => rt.hooks.on(0, 'nope' as never, () => 0), ErrorCode.INVALID_VALUE);
    expectCode(() => rt.hooks.on(0, 'free', 'fn' as never), ErrorCode.INVALID_VALUE);
  });
});

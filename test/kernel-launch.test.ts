import { describe, expect, it } from 'vitest';
import { ErrorCode, type KernelModule, type Runtime } from '../dist/src/index.js';
import { createRuntime, expectCode, kernelsUrl, useRuntime } from './helpers.js';

describe('kernels', () => {
  let rt: Runtime;
  let mod: KernelModule;
  useRuntime({}, (r, kernels) => {
    rt = r;
    mod = kernels;
  });

  it('loads a module in every worker and lists its functions', async () => {
    expect(mod.functionNames).toContain('vectorAdd');
    expect(mod.getFunction('vectorAdd').name).toBe('vectorAdd');
    const again = await rt.loadModule(kernelsUrl.pathname); // an absolute path works too
    expect(again.functionNames).toEqual(mod.functionNames);
  });

  it('runs a kernel on the stream device, with that device in ctx', async () => {
    for (const d of [0, 1]) {
      await rt.withDevice(d, async () => {
        const out = rt.malloc(4);
        rt.launchKernel(mod.getFunction('whoami'), [out]);
        const v = new Int32Array(1);
        await rt.memcpy(v, out, 4);
        expect(v[0]).toBe(d);
        rt.free(out);
      });
    }
  });

  it('vector add over device memory', async () => {
    const n = 1000;
    const a = rt.malloc(n * 4);
    const b = rt.malloc(n * 4);
    const c = rt.malloc(n * 4);
    rt.memcpySync(a, Float32Array.from({ length: n }, (_, i) => i), n * 4);
    rt.memcpySync(b, Float32Array.from({ length: n }, (_, i) => 0.5 * i), n * 4);
    rt.launchKernel(mod.getFunction('vectorAdd'), [a, b, c, n]);
    const out = new Float32Array(n);
    await rt.memcpy(out, c, n * 4);
    expect(out.every((v, i) => v === 1.5 * i)).toBe(true);
    [a, b, c].forEach((p) => rt.free(p));
  });

  it('passes numbers, booleans, signed and unsigned 64-bit bigints through the ring', async () => {
    const out = rt.malloc(32 * 8);
    const args = [1.25, -7, true, false, -(2n ** 63n), 2n ** 64n - 1n, 12n];
    rt.launchKernel(mod.getFunction('argTypes'), [out, ...args]);
    const v = new Float64Array(32);
    await rt.memcpy(v, out, 32 * 8);
    expect(Array.from(v.subarray(0, 7))).toEqual([1, 1, 3, 3, 2, 2, 2]);
    expect(Array.from(v.subarray(16, 23))).toEqual([1.25, -7, 1, 0, Number(-(2n ** 63n)), Number(2n ** 64n - 1n), 12]);
    rt.free(out);
  });

  it('supports up to 64 arguments, spanning several ring slots', async () => {
    const out = rt.malloc(8);
    const args = Array.from({ length: 63 }, (_, i) => i + 1);
    rt.launchKernel(mod.getFunction('sumArgs'), [out, ...args]);
    const v = new Float64Array(1);
    await rt.memcpy(v, out, 8);
    expect(v[0]).toBe((63 * 64) / 2);
    expectCode(() => rt.launchKernel(mod.getFunction('sumArgs'), [out, ...args, 64, 65]), ErrorCode.INVALID_VALUE);
    rt.free(out);
  });

  it('rejects arguments that are not numbers, booleans or 64-bit bigints', () => {
    const k = mod.getFunction('empty');
    for (const bad of ['1', null, undefined, {}, [1], 2n ** 64n, -(2n ** 63n) - 1n, Symbol('x')]) {
      const e = expectCode(() => rt.launchKernel(k, [bad as never]), ErrorCode.INVALID_VALUE);
      expect(e.message).toMatch(/^launchKernel: args\[0\] of empty/);
    }
    expectCode(() => rt.launchKernel(k, 'args' as never), ErrorCode.INVALID_VALUE);
    expectCode(() => rt.launchKernel('empty' as never, []), ErrorCode.INVALID_VALUE);
    expectCode(() => rt.launchKernel(k, [], {} as never), ErrorCode.INVALID_HANDLE);
  });

  it('getFunction rejects a missing export; loadModule rejects bad URLs and imports', async () => {
    expect(expectCode(() => mod.getFunction('nope'), ErrorCode.INVALID_VALUE).message).toMatch(/^getFunction: module .* has no exported function/);
    expectCode(() => mod.getFunction(3 as never), ErrorCode.INVALID_VALUE);
    await expect(rt.loadModule('relative/path.mjs')).rejects.toMatchObject({ code: ErrorCode.INVALID_VALUE });
    await expect(rt.loadModule(42 as never)).rejects.toMatchObject({ code: ErrorCode.INVALID_VALUE });
    const missing = await rt.loadModule(new URL('./fixtures/does-not-exist.mjs', import.meta.url)).catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: ErrorCode.INVALID_VALUE });
    expect((missing as Error).message).toMatch(/^loadModule: cannot import/);
  });

  it('a kernel of another runtime is rejected', async () => {
    const other = await createRuntime({ deviceCount: 1 });
    try {
      const foreign = (await other.loadModule(kernelsUrl)).getFunction('empty');
      expectCode(() => rt.launchKernel(foreign, []), ErrorCode.INVALID_VALUE);
    } finally {
      await other.close();
    }
  });
});

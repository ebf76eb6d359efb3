import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, type KernelModule, type Runtime } from '../dist/src/index.js';
import { createRuntime, expectCode, gate, useRuntime } from './helpers.js';

describe('device memory', () => {
  let rt: Runtime;
  let mod: KernelModule;
  useRuntime({}, (r, kernels) => {
    rt = r;
    mod = kernels;
  });

  it('allocates 256-byte aligned memory on the current device', () => {
    const ptrs = [1, 7, 255, 256, 1000].map((n) => rt.malloc(n));
    for (const p of ptrs) {
      expect(p % 256).toBe(0);
      expect(rt.pointerGetAttributes(p)).toMatchObject({ type: 'device', device: 0, basePointer: p });
    }
    const onOne = rt.withDevice(1, () => rt.malloc(64));
    expect(rt.pointerGetAttributes(onOne).device).toBe(1);
    ptrs.forEach((p) => rt.free(p));
    rt.free(onOne);
  });

  it('resolves interior pointers to their allocation (unified addressing)', () => {
    const p = rt.malloc(1000);
    expect(rt.pointerGetAttributes(p + 999)).toEqual({ type: 'device', device: 0, basePointer: p, size: 1000 });
    expect(rt.pointerGetAttributes(p + 1000).type).toBe('unregistered');
    rt.free(p);
    expect(rt.pointerGetAttributes(p)).toEqual({ type: 'unregistered', device: -1, basePointer: null, size: 0 });
    expect(rt.pointerGetAttributes(12345).type).toBe('unregistered');
    expect(rt.pointerGetAttributes(new Uint8Array(4)).type).toBe('unregistered');
  });

  it('rejects bad sizes with ERR_INVALID_VALUE', () => {
    for (const bad of [0, -1, 1.5, NaN, '8', undefined]) {
      const e = expectCode(() => rt.malloc(bad as number), ErrorCode.INVALID_VALUE);
      expect(e.message).toMatch(/^malloc: size must be an integer >= 1/);
    }
  });

  it('reports out-of-memory with requested, free and total bytes', () => {
    const e = expectCode(() => rt.malloc(9 << 20), ErrorCode.OUT_OF_MEMORY);
    expect(e.message).toContain(`${9 << 20} bytes`);
    expect(e.message).toContain(`${8 << 20} bytes free`);
    expect(e.message).toContain(`${8 << 20} total`);
    expect(rt.memGetInfo().free).toBe(8 << 20);
  });

  it('splits and coalesces free ranges', () => {
    const a = rt.malloc(1 << 20);
    const b = rt.malloc(1 << 20);
    const c = rt.malloc(1 << 20);
    rt.free(b);
    rt.free(a);
    rt.free(c);
    // After coalescing, the whole heap is one range again.
    const all = rt.malloc(8 << 20);
    rt.free(all);
  });

  it('free: 0 is a no-op; unknown, interior and double frees are errors', () => {
    rt.free(0);
    const p = rt.malloc(512);
    expect(expectCode(() => rt.free(p + 256), ErrorCode.INVALID_VALUE).message).toMatch(/interior pointer/);
    rt.free(p);
    expect(expectCode(() => rt.free(p), ErrorCode.INVALID_VALUE).message).toMatch(/already freed/);
    expectCode(() => rt.free(42), ErrorCode.INVALID_VALUE);
    expectCode(() => rt.free('p' as never), ErrorCode.INVALID_VALUE);
  });

  it('does not reuse freed memory while earlier work may still use it', async () => {
    const s = rt.streamCreate();
    const n = 64;
    const p1 = rt.malloc(n * 4);
    const g = gate(rt, s);
    rt.launchKernel(mod.getFunction('fill'), [p1, n, 3], s);
    rt.free(p1);
    const p2 = rt.malloc(n * 4);
    expect(p2).not.toBe(p1);
    g.open();
    await rt.streamSynchronize(s); // the kernel still found p1 valid: no illegal address
    rt.free(p2);
    await rt.deviceSynchronize();
    const p3 = rt.malloc(n * 4);
    expect(p3).toBe(p1);
    rt.free(p3);
    rt.streamDestroy(s);
  });

  it('malloc waits for deferred frees rather than failing', async () => {
    const s = rt.streamCreate();
    const big = rt.malloc(6 << 20);
    rt.launchKernel(mod.getFunction('spin'), [5], s);
    rt.free(big);
    const again = rt.malloc(6 << 20); // fits only once the free has been released
    expect(again).toBe(big);
    rt.free(again);
    await rt.streamSynchronize(s);
    rt.streamDestroy(s);
  });

  it("a free waits only for work that can touch the memory: another device's work does not hold it", async () => {
    const busy = rt.withDevice(1, () => rt.streamCreate());
    const g = gate(rt, busy); // device 1 is busy until the end of the test
    const dst = rt.withDevice(1, () => rt.malloc(64));
    try {
      for (let i = 0; i < 5; i++) {
        const big = rt.malloc(6 << 20); // 6 of device 0's 8 MiB: fits only if the last free was released
        rt.launchKernel(mod.getFunction('fill'), [big, 16, i]);
        rt.free(big);
      }
      // A copy from device 0 enqueued on device 1's stream does touch device 0's memory.
      const src = rt.malloc(6 << 20);
      rt.memcpyAsync(dst, src, 64, 'deviceToDevice', busy);
      rt.free(src);
      expect(rt.pointerGetAttributes(src).type).toBe('unregistered');
      const { free, total } = rt.memGetInfo();
      expect(free).toBe(total - (6 << 20)); // not reusable yet: the copy has not run
    } finally {
      g.open();
    }
    await rt.streamSynchronize(busy);
    expect(rt.memGetInfo().free).toBe(rt.memGetInfo().total);
    rt.withDevice(1, () => rt.free(dst));
    busy.destroy();
  });
});

describe('pinned host memory', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await createRuntime();
  });
  afterAll(async () => {
    await rt.close();
  });

  it('is a Uint8Array over shared memory and isPinned accepts interior views', () => {
    const h = rt.mallocHost(1000);
    expect(h).toBeInstanceOf(Uint8Array);
    expect(h.byteLength).toBe(1000);
    expect(h.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(rt.isPinned(h)).toBe(true);
    expect(rt.isPinned(h.subarray(100, 200))).toBe(true);
    expect(rt.isPinned(new Float32Array(h.buffer, h.byteOffset + 8, 4))).toBe(true);
    expect(rt.isPinned(new Uint8Array(1000))).toBe(false);
    const attributes = rt.pointerGetAttributes(h.subarray(10));
    expect(attributes.type).toBe('host');
    expect(attributes.size).toBe(1000);
    expect((attributes.basePointer as Uint8Array).byteOffset).toBe(h.byteOffset);
    rt.freeHost(h);
    expect(rt.isPinned(h)).toBe(false);
  });

  it('freeHost follows the rules of free', () => {
    const h = rt.mallocHost(512);
    expectCode(() => rt.freeHost(h.subarray(256)), ErrorCode.INVALID_VALUE);
    rt.freeHost(h);
    expectCode(() => rt.freeHost(h), ErrorCode.INVALID_VALUE);
    expectCode(() => rt.freeHost(new Uint8Array(8)), ErrorCode.INVALID_VALUE);
    expectCode(() => rt.freeHost(5 as never), ErrorCode.INVALID_VALUE);
  });

  it('validates sizes and reports pinned out-of-memory', () => {
    expectCode(() => rt.mallocHost(0), ErrorCode.INVALID_VALUE);
    expectCode(() => rt.mallocHost(-4), ErrorCode.INVALID_VALUE);
    expect(expectCode(() => rt.mallocHost(9 << 20), ErrorCode.OUT_OF_MEMORY).message).toMatch(/pinned memory/);
    expectCode(() => rt.isPinned(7 as never), ErrorCode.INVALID_VALUE);
    expectCode(() => rt.pointerGetAttributes('x' as never), ErrorCode.INVALID_VALUE);
  });
});

describe('device memory as wasm memory', () => {
  it('is at most one wasm32 memory less the kernel workspace: 4 GiB is refused, naming the option', async () => {
    const { Runtime } = await import('../dist/src/index.js');
    const error = await Runtime.create({ deviceCount: 1, deviceMemoryBytes: 4 * 1024 ** 3 }).then(
      () => undefined,
      (e: unknown) => e as { code: string; message: string },
    );
    expect(error?.code).toBe(ErrorCode.INVALID_VALUE);
    expect(error?.message).toMatch(/^Runtime\.create: options\.deviceMemoryBytes/);
  });

  it('holds every byte the allocator hands out whatever the size (not a multiple of a wasm page)', async () => {
    const rt = await createRuntime({ deviceCount: 1, deviceMemoryBytes: 100_000 });
    try {
      const p = rt.malloc(99_840);
      const bytes = new Uint8Array(99_840).map((_, i) => i & 0xff);
      rt.memcpySync(p, bytes, bytes.byteLength);
      const back = new Uint8Array(99_840);
      rt.memcpySync(back, p, back.byteLength);
      expect(back).toEqual(bytes);
      rt.free(p);
      expectCode(() => rt.malloc(100_001), ErrorCode.OUT_OF_MEMORY); // the workspace past the heap is never handed out
    } finally {
      await rt.close();
    }
  });
});

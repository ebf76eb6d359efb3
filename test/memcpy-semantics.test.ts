import { describe, expect, it } from 'vitest';
import { ErrorCode, MemcpyKind, type KernelModule, type Runtime } from '../dist/src/index.js';
import { expectBytes, expectCode, expectRejectCode, gate, useRuntime } from './helpers.js';

const iota = (n: number, k = 1) => Uint8Array.from({ length: n }, (_, i) => (i * k + 3) & 0xff);

describe('memcpy and memset', () => {
  let rt: Runtime;
  let mod: KernelModule;
  useRuntime({}, (r, kernels) => {
    rt = r;
    mod = kernels;
  });

  it('round-trips host → device → device → host in every variant', async () => {
    const n = 4096 + 17;
    const src = iota(n);
    const a = rt.malloc(n);
    const b = rt.malloc(n);
    rt.memcpySync(a, src, n, MemcpyKind.hostToDevice);
    await rt.memcpy(b, a, n, MemcpyKind.deviceToDevice);
    const out = new Uint8Array(n);
    rt.memcpySync(out, b, n, MemcpyKind.deviceToHost);
    expect(out).toEqual(src);
    const out2 = new Uint8Array(n);
    await rt.memcpy(out2, a, n); // kind inferred
    expect(out2).toEqual(src);
    const hh = new Uint8Array(n);
    await rt.memcpy(hh, src, n, MemcpyKind.hostToHost);
    expect(hh).toEqual(src);
    rt.free(a);
    rt.free(b);
  });

  it('copies large buffers through the staging ring in chunks', async () => {
    const n = 3 << 20; // 3 MiB through a 1 MiB staging ring
    const src = iota(n, 7);
    const p = rt.malloc(n);
    const s = rt.streamCreate();
    rt.launchKernel(mod.getFunction('spin'), [5], s); // busy stream: the copy is staged, not direct
    rt.memcpyAsync(p, src, n, MemcpyKind.hostToDevice, s);
    const out = new Uint8Array(n);
    rt.memcpyAsync(out, p, n, MemcpyKind.deviceToHost, s);
    expectBytes(out, src);
    rt.free(p);
    rt.streamDestroy(s);
  });

  it('from pageable memory on an idle stream, memcpyAsync copies at once', async () => {
    const s = rt.streamCreate();
    const p = rt.malloc(64);
    const host = iota(64);
    rt.memcpyAsync(p, host, 64, MemcpyKind.hostToDevice, s);
    host.fill(0);
    const out = new Uint8Array(64);
    rt.memcpyAsync(out, p, 64, MemcpyKind.deviceToHost, s);
    expect(out).toEqual(iota(64));
    rt.free(p);
  });

  it('a staged copy that would deadlock behind a host function fails with ERR_NOT_PERMITTED', async () => {
    const s = rt.streamCreate();
    const p = rt.malloc(2 << 20);
    rt.memsetSync(p, 0, 2 << 20);
    const g = gate(rt, s);
    await g.started; // the gate's promise is now pending
    expectCode(() => rt.memcpyAsync(p, new Uint8Array(2 << 20).fill(1), 2 << 20, MemcpyKind.hostToDevice, s), ErrorCode.NOT_PERMITTED);
    rt.memcpyAsync(p, new Uint8Array(1000).fill(2), 1000, MemcpyKind.hostToDevice, s); // fits: staged whole
    g.open();
    await rt.streamSynchronize(s);
    const out = new Uint8Array(2 << 20);
    await rt.memcpy(out, p, 2 << 20);
    expect(out[0]).toBe(2);
    expect(out[1000]).toBe(0); // the refused copy left nothing behind
    rt.free(p);
  });

  it('from pageable memory, memcpyAsync captures the bytes at call time', async () => {
    const s = rt.streamCreate();
    const p = rt.malloc(64);
    const host = iota(64);
    const g = gate(rt, s);
    rt.memcpyAsync(p, host, 64, MemcpyKind.hostToDevice, s);
    host.fill(0xee); // the caller may reuse its buffer at once
    g.open();
    await rt.streamSynchronize(s);
    const out = new Uint8Array(64);
    await rt.memcpy(out, p, 64);
    expect(out).toEqual(iota(64));
    rt.free(p);
  });

  it('to pageable memory, memcpyAsync returns only once the copy is done', () => {
    const s = rt.streamCreate();
    const p = rt.malloc(400);
    rt.launchKernel(mod.getFunction('fill'), [p, 100, 2.5], s);
    const out = new Float32Array(100);
    rt.memcpyAsync(out, p, 400, MemcpyKind.deviceToHost, s);
    expect(out.every((v) => v === 2.5)).toBe(true);
    rt.free(p);
  });

  it('pinned ↔ device copies are fully asynchronous', async () => {
    const s = rt.streamCreate();
    const p = rt.malloc(256);
    const pinnedIn = rt.mallocHost(256);
    const pinnedOut = rt.mallocHost(256);
    pinnedIn.set(iota(256));
    const g = gate(rt, s);
    rt.memcpyAsync(p, pinnedIn, 256, MemcpyKind.hostToDevice, s);
    rt.memcpyAsync(pinnedOut, p, 256, MemcpyKind.deviceToHost, s);
    expect(rt.streamQuery(s)).toBe(false);
    expect(pinnedOut.every((v) => v === 0)).toBe(true); // nothing has run yet
    g.open();
    await rt.streamSynchronize(s);
    expect(pinnedOut).toEqual(iota(256));
    // Pinned → pinned is a device-side copy as well.
    const third = rt.mallocHost(256);
    rt.memcpyAsync(third, pinnedOut, 256, MemcpyKind.hostToHost, s);
    await rt.streamSynchronize(s);
    expect(third).toEqual(iota(256));
    [pinnedIn, pinnedOut, third].forEach((h) => rt.freeHost(h));
    rt.free(p);
  });

  it('copies between devices (peer copies), ordered with both devices', async () => {
    const n = 1 << 16;
    const src = iota(n, 3);
    const on0 = rt.malloc(n);
    const on1 = rt.withDevice(1, () => rt.malloc(n));
    rt.memcpySync(on0, src, n);
    await rt.memcpy(on1, on0, n, MemcpyKind.deviceToDevice);
    const out = new Uint8Array(n);
    rt.memcpySync(out, on1, n);
    expectBytes(out, src);
    // Async peer copy on a stream of device 1, device 1 pulling from device 0.
    rt.memsetSync(on0, 9, n);
    const s1 = rt.withDevice(1, () => rt.streamCreate());
    rt.memcpyAsync(on1, on0, n, MemcpyKind.default, s1);
    await rt.streamSynchronize(s1);
    await rt.memcpy(out, on1, n);
    expect(out.every((v) => v === 9)).toBe(true);
    rt.free(on0);
    rt.free(on1);
  });

  it('memset fills device memory in every variant, with the low byte of value', async () => {
    const p = rt.malloc(1024);
    const out = new Uint8Array(1024);
    rt.memsetSync(p, 0x1ab, 1024);
    rt.memcpySync(out, p, 1024);
    expect(out.every((v) => v === 0xab)).toBe(true);
    await rt.memset(p + 512, 7, 512);
    rt.memcpySync(out, p, 1024);
    expect(out[511]).toBe(0xab);
    expect(out[512]).toBe(7);
    const s = rt.streamCreate({ nonBlocking: true });
    rt.memsetAsync(p, 1, 10, s);
    await rt.streamSynchronize(s);
    rt.memcpySync(out, p, 1024);
    expect(Array.from(out.subarray(0, 11))).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0xab]);
    rt.free(p);
  });

  it('count 0 is a no-op', async () => {
    const p = rt.malloc(16);
    await rt.memcpy(p, new Uint8Array(0), 0);
    rt.memcpySync(new Uint8Array(4), p, 0);
    rt.memcpyAsync(p, p, 0);
    await rt.memset(p, 1, 0);
    rt.free(p);
  });

  it('rejects a kind that contradicts the pointers', () => {
    const p = rt.malloc(16);
    const host = new Uint8Array(16);
    const e = expectCode(() => rt.memcpySync(p, host, 16, MemcpyKind.deviceToHost), ErrorCode.INVALID_VALUE);
    expect(e.message).toMatch(/^memcpySync: kind 'deviceToHost' contradicts the pointers/);
    expectCode(() => rt.memcpyAsync(host, p, 16, MemcpyKind.hostToDevice), ErrorCode.INVALID_VALUE);
    expectCode(() => rt.memcpySync(host, host, 16, MemcpyKind.deviceToDevice), ErrorCode.INVALID_VALUE);
    expectCode(() => rt.memcpySync(p, host, 16, 'sideways' as never), ErrorCode.INVALID_VALUE);
    rt.free(p);
  });

  it('rejects null, freed, unknown pointers and ranges past the end', async () => {
    const p = rt.malloc(100);
    const host = new Uint8Array(200);
    expect(expectCode(() => rt.memcpySync(0, host, 4), ErrorCode.INVALID_VALUE).message).toMatch(/null pointer/);
    expect(expectCode(() => rt.memcpySync(p, host, 101), ErrorCode.INVALID_VALUE).message).toMatch(/past the end/);
    expectCode(() => rt.memcpySync(p + 50, host, 51), ErrorCode.INVALID_VALUE);
    expect(expectCode(() => rt.memcpySync(host, p, 201), ErrorCode.INVALID_VALUE).message).toMatch(/larger than dst/);
    expectCode(() => rt.memcpySync(p, 'text' as never, 4), ErrorCode.INVALID_VALUE);
    expectCode(() => rt.memcpySync(p, host, -1), ErrorCode.INVALID_VALUE);
    expectCode(() => rt.memcpySync(p, host, 1.5), ErrorCode.INVALID_VALUE);
    expectCode(() => rt.memcpySync(123456, host, 4), ErrorCode.INVALID_VALUE);
    rt.free(p);
    expect(expectCode(() => rt.memcpySync(host, p, 4), ErrorCode.INVALID_VALUE).message).toMatch(/unknown or freed/);
    await expectRejectCode(rt.memcpy(host, p, 4), ErrorCode.INVALID_VALUE);
    await expectRejectCode(rt.memset(p, 0, 4), ErrorCode.INVALID_VALUE);
    expectCode(() => rt.memsetSync(host as never, 0, 4), ErrorCode.INVALID_VALUE);
    const q = rt.malloc(8);
    expectCode(() => rt.memsetSync(q, 1.5, 4), ErrorCode.INVALID_VALUE);
    expectCode(() => rt.memsetSync(q, 0, 9), ErrorCode.INVALID_VALUE);
    expectCode(() => rt.memsetAsync(q, 0, 4, {} as never), ErrorCode.INVALID_HANDLE);
    expectCode(() => rt.memcpyAsync(q, host, 4, MemcpyKind.default, 'stream' as never), ErrorCode.INVALID_HANDLE);
    rt.free(q);
  });
});

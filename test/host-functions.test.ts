import { describe, expect, it } from 'vitest';
import { ErrorCode, type KernelModule, type Runtime } from '../dist/src/index.js';
import { createRuntime, expectCode, expectRejectCode, gate, readLog, useRuntime } from './helpers.js';

describe('host functions', () => {
  let rt: Runtime;
  let mod: KernelModule;
  useRuntime({}, (r, kernels) => {
    rt = r;
    mod = kernels;
  });

  it('run after earlier work and hold back later work until they return', async () => {
    const s = rt.streamCreate();
    const side = rt.streamCreate({ nonBlocking: true });
    const log = rt.malloc(64 * 4);
    await rt.memset(log, 0, 64 * 4);
    const pinned = rt.mallocHost(64 * 4);
    const seenByHost: number[][] = [];
    rt.launchKernel(mod.getFunction('append'), [log, 64, 1], s);
    rt.launchHostFunc(s, async () => {
      // Earlier work is done: read the log through a non-blocking stream.
      rt.memcpyAsync(pinned, log, 64 * 4, 'deviceToHost', side);
      await rt.streamSynchronize(side);
      const v = new Int32Array(pinned.buffer, pinned.byteOffset, 64);
      seenByHost.push(Array.from(v.subarray(1, 1 + v[0]!)));
    });
    rt.launchKernel(mod.getFunction('append'), [log, 64, 2], s);
    await rt.streamSynchronize(s);
    expect(seenByHost).toEqual([[1]]);
    expect(await readLog(rt, log, 64)).toEqual([1, 2]);
    rt.freeHost(pinned);
    rt.free(log);
  });

  it('run in stream order on the main thread, even if nobody waits', async () => {
    const s = rt.streamCreate();
    const order: number[] = [];
    for (let i = 0; i < 10; i++) rt.launchHostFunc(s, () => order.push(i));
    await new Promise<void>((resolve) => rt.launchHostFunc(s, resolve));
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('are serviced by synchronous waits on the main thread', () => {
    const s = rt.streamCreate();
    let ran = false;
    rt.launchHostFunc(s, () => {
      ran = true;
    });
    rt.streamSynchronizeSync(s);
    expect(ran).toBe(true);
  });

  it('must not block on the device from inside a host function', async () => {
    const s = rt.streamCreate();
    let caught: unknown;
    rt.launchKernel(mod.getFunction('spin'), [5], s);
    const other = rt.streamCreate();
    // Held open until after the host function ran: had it finished first, the wait would not block.
    const held = gate(rt, other);
    rt.launchHostFunc(s, () => {
      try {
        rt.streamSynchronizeSync(other);
      } catch (error) {
        caught = error;
      }
    });
    await rt.streamSynchronize(s);
    held.open();
    await rt.streamSynchronize(other);
    expect(caught).toMatchObject({ code: ErrorCode.NOT_PERMITTED });
  });

  it('a host function that throws becomes the device sticky error', async () => {
    const local = await createRuntime({ deviceCount: 1 });
    try {
      const s = local.streamCreate();
      local.launchHostFunc(s, function failing() {
        throw new Error('host side failed');
      });
      const e = await expectRejectCode(local.streamSynchronize(s), ErrorCode.LAUNCH_FAILURE);
      expect(e.message).toMatch(/host function failing .*host side failed/);
    } finally {
      await local.close();
    }
  });

  it('validates arguments', () => {
    expectCode(() => rt.launchHostFunc(rt.defaultStream(), 'fn' as never), ErrorCode.INVALID_VALUE);
    expectCode(() => rt.launchHostFunc({} as never, () => 0), ErrorCode.INVALID_HANDLE);
  });
});

import { describe, expect, it } from 'vitest';
import { ErrorCode, type Runtime, ones, tensor } from '../dist/src/index.js';
import { expectCode, expectRejectCode, gate, kernelsUrl, useTensorRuntime } from './helpers.js';

// Reads of tensors never hang: they take timeouts and abort signals, and a device error
// reaches a pending read instead of leaving it waiting.
let rt: Runtime;
useTensorRuntime({ deviceCount: 2 }, (r) => (rt = r));

describe('bounded reads', () => {
  it('async reads of a tensor behind a gated stream time out or abort; the values arrive once it opens', async () => {
    const x = ones([4], { device: 'openreg' });
    const g = gate(rt, rt.getCurrentStream(0));
    const y = x.mul(3);
    await expectRejectCode(y.data({ timeoutMs: 20 }), ErrorCode.TIMEOUT);
    const controller = new AbortController();
    const pending = y.toArray({ signal: controller.signal });
    controller.abort(new Error('user gave up'));
    await expectRejectCode(pending, ErrorCode.ABORTED);
    await expectRejectCode(y.cpu({ timeoutMs: 10 }), ErrorCode.TIMEOUT);
    g.open();
    expect(await y.toArray({ timeoutMs: 5_000 })).toEqual([3, 3, 3, 3]);
  });

  it('sync reads take a timeout too, and reject a signal', () => {
    const x = ones([2], { device: 'openreg:1' });
    expect(x.toArraySync({ timeoutMs: 5_000 })).toEqual([1, 1]);
    expectCode(() => x.dataSync({ signal: new AbortController().signal } as never), ErrorCode.INVALID_VALUE);
    expectCode(() => x.cpuSync({ timeoutMs: -1 }), ErrorCode.INVALID_VALUE);
  });

  it('a cpu tensor read with an aborted signal rejects at once', async () => {
    const c = tensor([1, 2], { dtype: 'float32' }).mul(2);
    await expectRejectCode(c.data({ signal: AbortSignal.abort() }), ErrorCode.ABORTED);
    expect(await c.toArray()).toEqual([2, 4]);
  });
});

describe('device errors reach pending reads', () => {
  it('a copy to the cpu behind a failing kernel rejects with the device error instead of hanging; a reset recovers', async () => {
    const mod = await rt.loadModule(kernelsUrl);
    const x = ones([4], { device: 'openreg:1' });
    // Held behind a gate, so the kernel fails only after the copy is enqueued.
    const g = gate(rt, rt.getCurrentStream(1));
    rt.launchKernel(mod.getFunction('boom'), [], rt.getCurrentStream(1));
    const host = x.to('cpu');
    g.open();
    await expectRejectCode(host.data({ timeoutMs: 5_000 }), ErrorCode.LAUNCH_FAILURE);
    await rt.deviceReset(1);
    expect(await ones([2], { device: 'openreg:1' }).add(1).toArray()).toEqual([2, 2]);
  });
});

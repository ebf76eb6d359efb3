import { afterEach, expect, it } from 'vitest';
import * as o from '../dist/src/index.js';
import { expectCode, expectRejectCode, useTensorRuntime } from './helpers.js';

// A read resolves only with values whose every producing command ran: when the source device
// of a peer copy fails while the copy is pending, its stream skips the copy, and every read that
// depends on it (directly, through later kernels, or copied to the host) rejects with that
// device's error. The other device stays healthy.
let rt: o.Runtime;
useTensorRuntime({ deviceCount: 2 }, (r) => (rt = r));

afterEach(async () => {
  await rt.deviceReset(1);
});

/** Holds device 1's current stream behind a host function that fails when `fail()` is called. */
function failingGate(): { fail: () => void } {
  let fail!: () => void;
  const failed = new Promise<void>((_, reject) => (fail = () => reject(new Error('source device fails'))));
  failed.catch(() => undefined); // the host function may not have started when it fails
  rt.launchHostFunc(rt.getCurrentStream(1), async function sourceFails() {
    await failed;
  });
  return { fail };
}

it('a peer copy from a device that fails while it is pending makes reads of the destination reject instead of returning old values', async () => {
  const src = o.full([4], 7, { device: 'openreg:1' });
  const dst = o.zeros([4], { device: 'openreg:0' });
  const gate = failingGate();
  dst.copy_(src);
  const derived = dst.add(1);
  const onHost = dst.to('cpu');
  gate.fail();
  const error = await expectRejectCode(dst.toArray(), 'ERR_LAUNCH_FAILURE');
  expect(error.message).toMatch(/^toArray: device 1 has a sticky error: host function sourceFails/);
  await expectRejectCode(derived.data(), 'ERR_LAUNCH_FAILURE');
  await expectRejectCode(onHost.data(), 'ERR_LAUNCH_FAILURE');
  await expectRejectCode(dst.ready(), 'ERR_LAUNCH_FAILURE');
  await expectRejectCode(dst.cpu(), 'ERR_LAUNCH_FAILURE');
  expectCode(() => dst.dataSync(), 'ERR_LAUNCH_FAILURE');
  expectCode(() => derived.cpuSync(), 'ERR_LAUNCH_FAILURE');
  // Device 0 never failed: its own tensors read as usual.
  expect(await o.ones([2], { device: 'openreg:0' }).add(1).toArray()).toEqual([2, 2]);
});

it('a peer copy that ran before its source device failed reads its values', async () => {
  const src = o.full([3], 5, { device: 'openreg:1' });
  const dst = o.zeros([3], { device: 'openreg:0' }).copy_(src);
  expect(await dst.toArray()).toEqual([5, 5, 5]);
  const gate = failingGate();
  gate.fail();
  await expectRejectCode(src.data(), 'ERR_LAUNCH_FAILURE');
  expect(await dst.toArray()).toEqual([5, 5, 5]);
  expect(await dst.mul(2).toArray()).toEqual([10, 10, 10]);
});

it('a copy that completed before the source device failed is still readable when the read comes after the failure', async () => {
  const src = o.full([2], 3, { device: 'openreg:1' });
  const dst = o.zeros([2], { device: 'openreg:0' }).copy_(src);
  await dst.ready();
  await rt.streamSynchronize(rt.getCurrentStream(1));
  failingGate().fail();
  await expectRejectCode(o.ones([1], { device: 'openreg:1' }).data(), 'ERR_LAUNCH_FAILURE');
  expect(dst.toArraySync()).toEqual([3, 3]);
});

it('a reset of the source device before the read confirms the copy makes the read reject: the copied work was dropped', async () => {
  const src = o.full([2], 1, { device: 'openreg:1' });
  const gate = failingGate();
  const dst = o.zeros([2], { device: 'openreg:0' }).copy_(src);
  gate.fail();
  await rt.deviceReset(1);
  const error = await expectRejectCode(dst.toArray(), 'ERR_LAUNCH_FAILURE');
  expect(error.message).toMatch(/^toArray: device 1 was reset/);
});

it('a tensor whose memory a deviceReset freed is refused by ops and reads instead of computing on whatever is there now', async () => {
  const before = o.full([2], 4, { device: 'openreg:1' });
  await rt.deviceReset(1);
  const reused = o.full([2], 9, { device: 'openreg:1' });
  expect(expectCode(() => before.add(1), 'ERR_INVALID_HANDLE').message).toMatch(/^add: .* was freed by deviceReset\(1\)/);
  expect((await expectRejectCode(before.toArray(), 'ERR_INVALID_HANDLE')).message).toMatch(/^toArray: .* was freed by deviceReset\(1\)/);
  expectCode(() => before.to('openreg:0'), 'ERR_INVALID_HANDLE');
  expect(() => before.dispose()).not.toThrow();
  expect(await reused.toArray()).toEqual([9, 9]);
});

it('a CPU-fallback op on a copied tensor whose source device fails rejects at the read, as a native kernel does', async () => {
  const src = o.full([3], 2, { device: 'openreg:1' });
  const dst = o.zeros([3], { device: 'openreg:0' });
  const gate = failingGate();
  dst.copy_(src);
  const viaFallback = dst.sub(o.ones([3], { device: 'openreg:0' }));
  const tanh = dst.tanh();
  gate.fail();
  await expectRejectCode(viaFallback.toArray(), 'ERR_LAUNCH_FAILURE');
  await expectRejectCode(tanh.toArray(), 'ERR_LAUNCH_FAILURE');
  expect(await o.ones([2], { device: 'openreg:0' }).sub(o.ones([2], { device: 'openreg:0' })).toArray()).toEqual([0, 0]);
});

it('a cpu tensor whose pending copy fails, copied on to a healthy device, rejects there without breaking that device', async () => {
  const src = o.full([2], 6, { device: 'openreg:1' });
  const gate = failingGate();
  const onHost = src.to('cpu');
  const onDevice0 = onHost.to('openreg:0');
  const later = onDevice0.mul(2);
  gate.fail();
  const error = await expectRejectCode(onDevice0.toArray(), 'ERR_LAUNCH_FAILURE');
  expect(error.message).toMatch(/^toArray: device 1 has a sticky error/);
  await expectRejectCode(later.data(), 'ERR_LAUNCH_FAILURE');
  expect(await o.full([2], 3, { device: 'openreg:0' }).mul(2).toArray()).toEqual([6, 6]);
});

it('work confirmed by one read stays confirmed for everything computed from it, even after its device is reset', async () => {
  const src = o.full([2], 5, { device: 'openreg:1' });
  const dst = o.zeros([2], { device: 'openreg:0' }).copy_(src);
  const derived = dst.add(1);
  await dst.ready();
  await rt.deviceReset(1);
  expect(await derived.toArray()).toEqual([6, 6]);
});

it('repeated in-place updates of a tensor that depends on pending peer copies keep one receipt per source stream', async () => {
  const src = o.full([2], 1, { device: 'openreg:1' });
  const acc = o.zeros([2], { device: 'openreg:0' });
  const gate = failingGate();
  for (let i = 0; i < 50; i++) acc.add_(o.zeros([2], { device: 'openreg:0' }).copy_(src));
  // Internal state, read on purpose: without the bound the list grew by one per update (O(n²) in a loop).
  const storage = (acc as unknown as { storage(call: string): { receipts: unknown[] | undefined } }).storage('test');
  expect(storage.receipts).toHaveLength(1);
  gate.fail();
  await expectRejectCode(acc.toArray(), 'ERR_LAUNCH_FAILURE');
});

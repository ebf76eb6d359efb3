import { describe, expect, it } from 'vitest';
import * as o from '../dist/src/index.js';
import { ErrorCode } from '../dist/src/index.js';
import { expectCode, expectRejectCode, useTensorRuntime } from './helpers.js';

// Typed arrays in and out: tensor(typedArray, { shape }) takes the array's dtype, and
// data({ into }) / dataSync({ into }) read into a caller's array.
let runtime: o.Runtime;
useTensorRuntime({ deviceCount: 1, deviceMemoryBytes: 64 << 20, hostMemoryBytes: 64 << 20 }, (r) => (runtime = r));

describe('typed arrays in', () => {
  it.each(['cpu', 'openreg'])('tensor(typedArray) takes its dtype and values, shaped by options.shape, on %s', async (device) => {
    const cases = [
      [new Float32Array([1.5, 2, 3, 4]), 'float32'],
      [new Float64Array([1.5, 2, 3, 4]), 'float64'],
      [new Int32Array([1, -2, 3, 4]), 'int32'],
      [new BigInt64Array([1n, -2n, 3n, 4n]), 'int64'],
      [new Uint8Array([1, 2, 3, 255]), 'uint8'],
    ] as const;
    for (const [data, dtype] of cases) {
      const t = o.tensor(data, { device, shape: [2, 2] });
      expect([t.dtype, t.shape]).toEqual([dtype, [2, 2]]);
      expect(await t.data()).toEqual(data);
    }
    // A dtype of its own converts; the caller's array may be reused at once.
    const src = new Float32Array([0.5, 1.5, 2.5]);
    const ints = o.tensor(src, { device, dtype: 'int32' });
    src.fill(9);
    expect([ints.dtype, await ints.toArray()]).toEqual(['int32', [0, 1, 2]]);
    expect(await o.tensor(new Float32Array([1, 2]), { device }).toArray()).toEqual([1, 2]);
  });

  it('refuses what it cannot take, naming the call', () => {
    expect(expectCode(() => o.tensor(new Int16Array(2)), ErrorCode.INVALID_VALUE).message).toMatch(/^tensor: a typed array must be a Float32Array/);
    expect(expectCode(() => o.tensor(new Float32Array(4), { shape: [3] }), ErrorCode.INVALID_VALUE).message).toMatch(/^tensor: options.shape \[3\] holds 3 elements, the typed array 4/);
    expect(expectCode(() => o.tensor([1, 2], { shape: [2] }), ErrorCode.INVALID_VALUE).message).toMatch(/options.shape is for a flat typed array/);
  });
});

describe('typed arrays out', () => {
  it.each(['cpu', 'openreg'])('data({ into }) and dataSync({ into }) fill the caller array and return it, on %s', async (device) => {
    const t = o.tensor(new Float32Array([1, 2, 3]), { device });
    await t.ready();
    const into = new Float32Array(3);
    expect(await t.data({ into })).toBe(into);
    expect([...into]).toEqual([1, 2, 3]);
    const again = new Float32Array(3);
    expect(t.dataSync({ into: again })).toBe(again);
    expect([...again]).toEqual([1, 2, 3]);
    // Halves decode into a Float32Array; a view (not contiguous) is read in its own order.
    const h = o.tensor([[1, 2], [3, 4]], { device, dtype: 'float16' }).t();
    expect([...(await h.data({ into: new Float32Array(4) }))]).toEqual([1, 3, 2, 4]);
  });

  it('refuses an array of the wrong kind or size instead of filling part of it', async () => {
    const t = o.tensor(new Float32Array([1, 2, 3]));
    await expectRejectCode(t.data({ into: new Float64Array(3) as never }), ErrorCode.INVALID_VALUE);
    await expectRejectCode(t.data({ into: new Float32Array(2) }), ErrorCode.INVALID_VALUE);
    await expectRejectCode(t.data({ bogus: 1 } as never), ErrorCode.INVALID_VALUE);
  });

  it('data() with no into returns arrays the tensor does not share', async () => {
    const t = o.tensor(new Float32Array([1, 2, 3]));
    const a = await t.data();
    (a as Float32Array)[0] = 100;
    expect(await t.toArray()).toEqual([1, 2, 3]);
    const b = t.dataSync() as Float32Array;
    b[1] = 100;
    expect(await t.toArray()).toEqual([1, 2, 3]);
  });
});

describe('the data path never blocks the main thread on other work', () => {
  it('reading an idle tensor does not wait for a kernel running on another stream of its device', async () => {
    const { kernelsUrl } = await import('./helpers.js');
    const rt = runtime;
    const spin = (await rt.loadModule(kernelsUrl)).getFunction('spin');
    const t = o.tensor(new Float32Array([1, 2, 3]), { device: 'openreg' });
    await t.ready();
    // Non-blocking: the legacy default stream (t's) does not wait for it.
    const other = rt.streamCreate({ nonBlocking: true });
    rt.launchKernel(spin, [300], other);
    expect([...(await t.data({ timeoutMs: 100 }))]).toEqual([1, 2, 3]);
    // The read came straight out of device memory: the kernel on the other stream is still running.
    expect(rt.streamQuery(other)).toBe(false);
    await rt.streamSynchronize(other);
  });

  it('a large upload while a host function is pending is queued through pinned memory, not refused', async () => {
    const rt = runtime;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    rt.launchHostFunc(rt.getCurrentStream(), () => gate);
    const big = new Float32Array(3_000_000).fill(7);
    const t = o.tensor(big, { device: 'openreg' });
    open();
    const values = await t.data();
    expect([values.length, values[0], values[2_999_999]]).toEqual([3_000_000, 7, 7]);
  });
});

describe('a read of a busy stream waits for it and returns the values as of the call', () => {
  const busy = async (ms: number, stream?: o.Stream) => {
    const { kernelsUrl } = await import('./helpers.js');
    const spin = (await runtime.loadModule(kernelsUrl)).getFunction('spin');
    runtime.launchKernel(spin, [ms], stream ?? runtime.getCurrentStream());
  };

  it('copies straight out of device memory when nothing is enqueued meanwhile (no staging copy on the device)', async () => {
    const t = o.tensor(new Float32Array([1, 2, 3]), { device: 'openreg' });
    await t.ready();
    await busy(20);
    const before = await runtime.deviceStats(0);
    expect([...(await t.data())]).toEqual([1, 2, 3]);
    const after = await runtime.deviceStats(0);
    expect(after.copies - before.copies).toBe(0);
  });

  it.each([
    ['the default stream', false],
    ['a non-blocking stream', true],
  ])('on %s, work enqueued after the call (an in-place op, a fill of reused memory) does not change what it returns', async (_, nonBlocking) => {
    const stream = nonBlocking ? runtime.streamCreate({ nonBlocking: true }) : runtime.getCurrentStream();
    await runtime.withStream(stream, async () => {
      const t = o.tensor(new Float32Array([1, 2, 3]), { device: 'openreg' });
      const u = o.tensor(new Float32Array([4, 5, 6]), { device: 'openreg' });
      await busy(20, stream);
      const before = await runtime.deviceStats(0);
      const first = t.data();
      const second = u.data();
      t.add_(10);
      // u's memory freed and taken by a new tensor at once: the fill that follows would overwrite it.
      u.dispose();
      const reused = o.full([3], 9, { device: 'openreg', dtype: 'float32' });
      expect([...(await first)]).toEqual([1, 2, 3]);
      expect([...(await second)]).toEqual([4, 5, 6]);
      expect([...(await t.data())]).toEqual([11, 12, 13]);
      expect([...(await reused.data())]).toEqual([9, 9, 9]);
      // Both reads were staged by a device copy at their place in the stream.
      expect((await runtime.deviceStats(0)).copies - before.copies).toBe(2);
    });
  });

  it('an upload straight into device memory once the stream is idle does not change what a pending read returns', async () => {
    const t = o.tensor(new Float32Array([1, 2, 3]), { device: 'openreg' });
    await busy(20);
    const pending = t.data();
    runtime.streamSynchronizeSync(runtime.getCurrentStream());
    // The stream is idle: this host copy writes device memory at once, outside stream order.
    t.copy_(o.tensor(new Float32Array([7, 8, 9])));
    expect([...(await pending)]).toEqual([1, 2, 3]);
    expect([...(await t.data())]).toEqual([7, 8, 9]);
  });

  it('a read that times out leaves nothing pending: later work and reads are unaffected', async () => {
    const t = o.tensor(new Float32Array([1, 2, 3]), { device: 'openreg' });
    await busy(300);
    await expectRejectCode(t.data({ timeoutMs: 5 }), ErrorCode.TIMEOUT);
    const before = await runtime.deviceStats(0);
    t.add_(1);
    expect([...(await t.data())]).toEqual([2, 3, 4]);
    // The timed-out read was not staged by the add that followed it.
    expect((await runtime.deviceStats(0)).copies - before.copies).toBe(0);
  });
});

import { expect, it } from 'vitest';
import * as o from '../dist/src/index.js';
import type { Runtime } from '../dist/src/index.js';
import { gate, useTensorRuntime } from './helpers.js';

// Uploads are ordered as in PyTorch: tensor(data, { device }) and a blocking to() from the
// host are complete when they return (with the work queued before them, as CUDA's blocking
// copies wait), so any stream may use the result; { nonBlocking: true } leaves the copy queued.
let rt: Runtime;
useTensorRuntime({ deviceCount: 1 }, (r) => (rt = r));

/** Work that keeps the device's current stream busy for a while, so that a copy behind it would be queued. */
function keepBusy(): o.Tensor {
  const m = o.ones([256, 256], { device: 'openreg' });
  return m.matmul(m).matmul(m).matmul(m);
}

it('tensor(data, { device }) and a blocking to() are done when they return: another stream may use them at once', async () => {
  const busy = keepBusy();
  const x = o.tensor(new Float32Array(4096).fill(1), { device: 'openreg' });
  expect(rt.streamQuery(rt.getCurrentStream())).toBe(true);
  const busy2 = keepBusy();
  const y = o.tensor(new Float32Array(4096).fill(2)).to('openreg');
  expect(rt.streamQuery(rt.getCurrentStream())).toBe(true);
  const s = rt.streamCreate();
  const z = rt.withStream(s, () => x.add(y));
  expect(((await z.toArray()) as number[]).every((v) => v === 3)).toBe(true);
  for (const t of [busy, busy2]) t.dispose();
});

it('to(device, { nonBlocking: true }) returns with the copy still queued behind earlier work, in stream order', async () => {
  // A gate, not a long kernel: the stream is held until the test opens it, however fast the device is.
  const held = gate(rt, rt.getCurrentStream());
  await held.started;
  const y = o.tensor(new Float32Array(4096).fill(2)).to('openreg', { nonBlocking: true });
  expect(rt.streamQuery(rt.getCurrentStream())).toBe(false);
  held.open();
  expect(((await y.toArray()) as number[]).every((v) => v === 2)).toBe(true);
});

import { describe, expect, it } from 'vitest';
import * as o from '../dist/src/index.js';
import { expectRejectCode, useTensorRuntime } from './helpers.js';

// gather, scatter and index_select check their indices in the kernel, as CUDA's device-side
// assert does: on an openreg device the failure is the device's sticky error (the other
// device keeps working, a reset clears it); on cpu only reads of what the kernel wrote reject.

let rt: o.Runtime;
useTensorRuntime({ deviceCount: 2 }, (r) => (rt = r));

describe('an index out of range', () => {
  it("fails the openreg device that ran the kernel with a coded error and leaves the other device's work intact", async () => {
    const x = o.tensor([1, 2, 3], { device: 'openreg:0' });
    const bad = x.gather(0, o.tensor([0, 3], { dtype: 'int64', device: 'openreg:0' }));
    const other = o.tensor([4, 5], { device: 'openreg:1' }).scatterAdd(0, o.tensor([1, 1], { dtype: 'int64', device: 'openreg:1' }), o.tensor([1, 2], { device: 'openreg:1' }));
    const error = await expectRejectCode(bad.data(), 'ERR_LAUNCH_FAILURE');
    expect(error.message).toMatch(/gather: index 3 is out of bounds for dimension with size 3/);
    expect(await other.toArray()).toEqual([4, 8]);
    await rt.deviceReset(0);
    expect(await o.tensor([1, 2], { device: 'openreg:0' }).indexSelect(0, o.tensor([1], { dtype: 'int64', device: 'openreg:0' })).toArray()).toEqual([2]);
  });

  it('rejects only the reads of a cpu result, with the kernel named', async () => {
    const x = o.tensor([[1, 2], [3, 4]]);
    const bad = x.scatter(1, o.tensor([[0], [-1]], { dtype: 'int64' }), 9);
    const error = await expectRejectCode(bad.toArray(), 'ERR_LAUNCH_FAILURE');
    expect(error.message).toMatch(/^toArray: kernel tensorScatter on the CPU pool threw RangeError: scatter: index -1 is out of bounds/);
    expect(await x.gather(1, o.tensor([[1], [0]], { dtype: 'int64' })).toArray()).toEqual([[2], [3]]);
  });
});

import { describe, expect, it } from 'vitest';
import * as o from '../dist/src/index.js';
import { ErrorCode, type KernelModule, type Runtime } from '../dist/src/index.js';
import { MAX_INLINE_ARG_WORDS } from '../dist/src/protocol/command.js';
import { expectCode, expectRejectCode, useTensorRuntime } from './helpers.js';

// The typed kernel ABI seen from outside: named arguments checked at the call, operand lists
// of any length, every operand's reach bounds-checked once in the worker, accesses for the
// sanitizer from the signature, and kernels chosen on the host by dtype and layout.
const typedUrl = new URL('./fixtures/typed-kernels.mjs', import.meta.url);
let rt: Runtime;
let mod: KernelModule;
useTensorRuntime({ deviceCount: 2 }, (r) => (rt = r));

async function typedModule(): Promise<KernelModule> {
  return (mod ??= await rt.loadModule(typedUrl));
}

function deviceFloats(values: number[]): number {
  const ptr = rt.malloc(Math.max(values.length, 1) * 4);
  rt.memcpySync(ptr, Float32Array.from(values), values.length * 4);
  return ptr;
}

describe('typed kernels', () => {
  it('report their signature when loaded; plain kernels have none', async () => {
    const m = await typedModule();
    expect(m.getFunction('sumInto').signature).toEqual({ name: 'sumInto', params: { out: o.Param.output, inputs: o.Param.inputs } });
    expect(m.getFunction('scale').signature?.params).toEqual({ x: o.Param.output, factor: o.Param.float });
  });

  it.each([3, 700])('take a list of %i operands in one launch (a long list goes in an argument block in device memory)', async (count) => {
    const m = await typedModule();
    const n = 4;
    const base = deviceFloats(Array.from({ length: count * n }, (_, i) => i % n));
    const out = rt.malloc(n * 4);
    const inputs = Array.from({ length: count }, (_, k) => ({ ptr: base + k * n * 4, dtype: 'float32' as const, shape: [n] }));
    // Each 1-d operand is 5 words: 700 of them do not fit in a command.
    expect(count * 5 > MAX_INLINE_ARG_WORDS).toBe(count === 700);
    rt.launchKernel(m.getFunction('sumInto'), { out: { ptr: out, dtype: 'float32', shape: [n] }, inputs });
    const result = new Float32Array(n);
    await rt.memcpy(result, out, n * 4);
    expect([...result]).toEqual([0, 1, 2, 3].map((v) => v * count));
    rt.free(base);
    rt.free(out);
  });

  it('are launched with exactly their named arguments, checked at the call', async () => {
    const m = await typedModule();
    const scale = m.getFunction('scale');
    const x = deviceFloats([1, 2]);
    const tensor = { ptr: x, dtype: 'float32' as const, shape: [2] };
    expect(expectCode(() => rt.launchKernel(scale, [x, 2]), ErrorCode.INVALID_VALUE).message).toMatch(/^launchKernel: scale is a typed kernel: args must be an object with its parameters \(x, factor\)/);
    expect(expectCode(() => rt.launchKernel(scale, { x: tensor }), ErrorCode.INVALID_VALUE).message).toMatch(/args\.factor of scale must be a number/);
    expect(expectCode(() => rt.launchKernel(scale, { x: tensor, factor: 2, n: 2 }), ErrorCode.INVALID_VALUE).message).toMatch(/scale has no parameter "n"/);
    expect(expectCode(() => rt.launchKernel(scale, { x: { ...tensor, dtype: 'float' as never }, factor: 2 }), ErrorCode.INVALID_VALUE).message).toMatch(/args\.x of scale\.dtype must be one of/);
    expect(expectCode(() => rt.launchKernel(scale, { x: { ...tensor, strides: [1, 1] }, factor: 2 }), ErrorCode.INVALID_VALUE).message).toMatch(/args\.x of scale\.strides must have one entry per dimension/);
    rt.launchKernel(scale, { x: tensor, factor: 3 });
    const result = new Float32Array(2);
    await rt.memcpy(result, x, 8);
    expect([...result]).toEqual([3, 6]);
    rt.free(x);
  });

  it('never run on an operand whose reach leaves its allocation: the worker checks it once, before the call', async () => {
    const m = await typedModule();
    await rt.withDevice(1, async () => {
      const x = deviceFloats([1, 2, 3, 4]);
      // A strided view whose last element (index 3 · 2 = 6) is past the 4-element allocation.
      rt.launchKernel(m.getFunction('scale'), { x: { ptr: x, dtype: 'float32', shape: [4], strides: [2] }, factor: 10 });
      const error = await expectRejectCode(rt.deviceSynchronize(), ErrorCode.ILLEGAL_ADDRESS);
      expect(error.message).toMatch(/kernel scale: x \(pointer 0x[0-9a-f]+, 7 elements\): 28 bytes are not inside one live allocation of device 1/);
      await rt.deviceReset(1);
    });
    // The other device never noticed.
    expect(await o.ones([2], { device: 'openreg:0' }).sum().item()).toBe(2);
  });

  it('tell the sanitizer and observers what they read and write, from their signature', async () => {
    const m = await typedModule();
    const x = deviceFloats([1, 2, 3]);
    const y = deviceFloats([4, 5, 6]);
    const out = rt.malloc(12);
    const seen: unknown[] = [];
    const stop = rt.observe({ kernelLaunch: (e) => void seen.push({ reads: e.reads, writes: e.writes }) });
    const t = (ptr: number) => ({ ptr, dtype: 'float32' as const, shape: [3] });
    rt.launchKernel(m.getFunction('sumInto'), { out: t(out), inputs: [t(x), t(y)] });
    stop();
    expect(seen).toEqual([{ reads: [[x, 12], [y, 12]], writes: [[out, 12]] }]);
    await rt.deviceSynchronize();
    for (const p of [x, y, out]) rt.free(p);
  });
});

describe('tensor kernels through the typed ABI', () => {
  it.each(['openreg', 'cpu'])('compute on tensors of more than 8 dimensions on %s', async (device) => {
    const shape = [2, 1, 2, 1, 1, 2, 1, 1, 1, 1, 1, 3];
    const a = o.arange(0, 24, 1, { device }).reshape(...shape);
    const b = o.arange(0, 3, 1, { device });
    const sum = a.add(b);
    expect(sum.shape).toEqual(shape);
    expect((await sum.toArray()).toString()).toBe(Array.from({ length: 24 }, (_, i) => i + (i % 3)).toString());
    expect(await a.sum([0, 2, 5]).flatten().toArray()).toEqual([84, 92, 100]);
  });

  it('are chosen on the host by dtype and layout', async () => {
    const launched: string[] = [];
    const stop = rt.observe({ kernelLaunch: (e) => void launched.push(e.kernel) });
    const x = o.ones([4, 3], { device: 'openreg' });
    x.add(x); // dense float32: the flat kernel
    x.add(o.ones([3], { device: 'openreg' })); // broadcast: the strided one
    x.t().add(1); // transposed: strided
    x.matmul(x.t()); // float32: plain arrays
    x.to('float16').matmul(x.t().to('float16')); // float16: the general product
    stop();
    expect(launched.filter((k) => k !== 'tensorFill' && k !== 'tensorUnary')).toEqual(['tensorBinaryContiguous', 'tensorBinary', 'tensorBinary', 'tensorMatmulPlain', 'tensorMatmul']);
  });
});

describe('typed launch accesses', () => {
  it('a launch given only { stream } keeps the reads and writes its signature declares', async () => {
    const m = await typedModule();
    const x = deviceFloats([1, 2]);
    const s = rt.streamCreate();
    const seen: unknown[] = [];
    const stop = rt.observe({ kernelLaunch: (e) => void seen.push(e.writes) });
    rt.launchKernel(m.getFunction('scale'), { x: { ptr: x, dtype: 'float32', shape: [2] }, factor: 2 }, { stream: s });
    rt.launchKernel(m.getFunction('scale'), { x: { ptr: x, dtype: 'float32', shape: [2] }, factor: 2 }, { stream: s, writes: [[x, 4]] });
    stop();
    expect(seen).toEqual([[[x, 8]], [[x, 4]]]);
    await rt.streamSynchronize(s);
    rt.free(x);
  });
});

describe('peer copies through the backend interface', () => {
  it('a copy into a tensor whose device was reset is refused, never written into memory a newer tensor owns', async () => {
    const y = o.zeros([3], { device: 'openreg:1' });
    await rt.deviceReset(1);
    const z = o.zeros([3], { device: 'openreg:1' });
    const x = o.tensor([1, 2, 3], { device: 'openreg:0', dtype: 'float32' });
    expect(expectCode(() => y.copy_(x), ErrorCode.INVALID_HANDLE).message).toMatch(/^copy_: .*freed by deviceReset\(1\)/);
    expect(await z.toArray()).toEqual([0, 0, 0]);
  });
});

import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ErrorCode,
  type Runtime,
  type Tensor,
  getRngState,
  load,
  loadMetadata,
  rand,
  randn,
  registerSerialization,
  save,
  setRngState,
  tensor,
  zeros,
} from '../dist/src/index.js';
import { expectRejectCode, useTensorRuntime } from './helpers.js';
import { writeSafetensors } from './safetensors-bytes.js';

// save/load in the safetensors format: interop both ways with independent code, device
// locations and backend metadata, mapLocation, generator state, malformed files, streaming.
let rt: Runtime;
useTensorRuntime({ deviceCount: 2, deviceMemoryBytes: 96 << 20, hostMemoryBytes: 16 << 20 }, (r) => (rt = r));
const dir = mkdtempSync(join(tmpdir(), 'openreg-safetensors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An independent reader: the header and the data section of safetensors bytes. */
function readSafetensors(bytes: Uint8Array): { header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> & { __metadata__?: Record<string, string> }; data: Uint8Array; n: number } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))), data: bytes.subarray(8 + n), n };
}

const f32 = (...v: number[]) => new Uint8Array(new Float32Array(v).buffer);

describe('interop', () => {
  it('loads bytes written by an independent writer (fixed bytes)', async () => {
    const data = new Uint8Array([...f32(1, 2, 3, 4), 7, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
    const bytes = writeSafetensors(
      {
        __metadata__: { format: 'pt' },
        weight: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] },
        step: { dtype: 'I64', shape: [], data_offsets: [16, 24] },
        mask: { dtype: 'BOOL', shape: [2], data_offsets: [24, 26] },
      },
      data,
    );
    const out = await load(bytes);
    expect(await out.weight!.toArray()).toEqual([[1, 2], [3, 4]]);
    expect([out.step!.dtype, out.step!.shape, await out.step!.item()]).toEqual(['int64', [], 7]);
    expect(await out.mask!.toArray()).toEqual([true, false]);
    expect(out.weight!.device.toString()).toBe('cpu'); // no openreg location: the host
  });

  it('writes what an independent reader reads: padded header, string metadata, no holes, little-endian data', async () => {
    const a = tensor([[1.5, -2], [3, 4]], { device: 'openreg:1' });
    const b = tensor([7, 8, 9], { dtype: 'int32' });
    const h = tensor([0.5, 65504], { dtype: 'float16', device: 'openreg:0' });
    const bytes = (await save({ a, b, h }, undefined, { metadata: { format: 'pt' } }))!;
    const { header, data, n } = readSafetensors(bytes);
    expect(n % 8).toBe(0);
    expect(header.a).toEqual({ dtype: 'F32', shape: [2, 2], data_offsets: expect.any(Array) });
    expect(Object.values(header.__metadata__!).every((v) => typeof v === 'string')).toBe(true);
    expect(header.__metadata__).toMatchObject({ format: 'pt', 'openreg.device.a': 'openreg:1', 'openreg.device.b': 'cpu', 'openreg.device.h': 'openreg:0' });
    expect(await loadMetadata(bytes)).toEqual({ format: 'pt' });
    const spans = Object.entries(header).filter(([k]) => k !== '__metadata__').map(([, v]) => (v as { data_offsets: [number, number] }).data_offsets).sort((x, y) => x[0] - y[0]);
    expect(spans[0]![0]).toBe(0);
    spans.forEach((s, i) => i > 0 && expect(s[0]).toBe(spans[i - 1]![1]));
    expect(spans.at(-1)![1]).toBe(data.length);
    const [ab, ae] = header.a!.data_offsets;
    expect(Array.from(new Float32Array(data.slice(ab, ae).buffer))).toEqual([1.5, -2, 3, 4]);
    const [hb, he] = header.h!.data_offsets;
    expect(Array.from(new Uint16Array(data.slice(hb, he).buffer))).toEqual([0x3800, 0x7bff]);
  });
});

describe('round trips', () => {
  it('every dtype, scalars and empty tensors keep values, dtypes and devices, through bytes and files', async () => {
    const tensors: Record<string, Tensor> = {
      f32: randn([3, 4], { device: 'openreg:1' }).t(), // saved contiguous
      f64: tensor([1 / 3, -1e300], { dtype: 'float64', device: 'openreg:0' }),
      bf16: tensor([1.5, -3.25], { dtype: 'bfloat16' }),
      i64: tensor([2 ** 40, -5], { device: 'openreg:1' }),
      u8: tensor([0, 255], { dtype: 'uint8' }),
      flag: tensor([true, false, true], { device: 'openreg:0' }),
      scalar: tensor(2.5, { device: 'openreg:0' }),
      none: zeros([0, 3], { device: 'openreg:1' }),
    };
    const path = join(dir, 'all.safetensors');
    await save(tensors, path);
    for (const loaded of [await load((await save(tensors))!), await load(path)]) {
      for (const [name, t] of Object.entries(tensors)) {
        const back = loaded[name]!;
        expect([name, back.device.toString(), back.dtype, back.shape]).toEqual([name, t.device.toString(), t.dtype, t.shape]);
        expect(await back.toArray()).toEqual(await t.toArray());
      }
    }
  });

  it('mapLocation moves tensors (a device, or a function) and drops backend metadata', async () => {
    const bytes = (await save({ w: tensor([1, 2], { device: 'openreg:1' }) }))!;
    expect((await load(bytes, { mapLocation: 'cpu' })).w!.device.toString()).toBe('cpu');
    const moved = await load(bytes, { mapLocation: (name, saved) => (name === 'w' && saved === 'openreg:1' ? 'openreg:0' : saved) });
    expect(moved.w!.device.toString()).toBe('openreg:0');
  });

  it('openreg checks its version on load; a move to the cpu skips the check', async () => {
    const bytes = writeSafetensors(
      { __metadata__: { 'openreg.device.w': 'openreg:0', 'openreg.backend.w': '{"version":"99","format":"0"}' }, w: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } },
      f32(1),
    );
    const error = await expectRejectCode(load(bytes), ErrorCode.INVALID_VALUE);
    expect(error.message).toMatch(/serialization version 99/);
    expect(await (await load(bytes, { mapLocation: 'cpu' })).w!.toArray()).toEqual([1]);
  });

  it('loading onto a device that does not exist is a coded error, and nothing is allocated', async () => {
    const bytes = writeSafetensors(
      { __metadata__: { 'openreg.device.a': 'openreg:0', 'openreg.device.b': 'openreg:5' }, a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } },
      f32(1, 2),
    );
    const before = rt.cachingAllocator.memoryStats(0).allocatedBytes.all.current;
    await expectRejectCode(load(bytes), ErrorCode.INVALID_DEVICE);
    expect(rt.cachingAllocator.memoryStats(0).allocatedBytes.all.current).toBe(before);
  });

  it('a backend’s own callbacks travel with its tensors', async () => {
    const seen: Record<string, string>[] = [];
    const dispose = registerSerialization('cpu', { serialize: (t) => ({ rows: String(t.shape[0]) }), deserialize: (_t, meta) => void seen.push(meta) });
    try {
      const bytes = (await save({ x: zeros([4, 2]) }))!;
      expect(readSafetensors(bytes).header.__metadata__!['openreg.backend.x']).toBe('{"rows":"4"}');
      await load(bytes);
      expect(seen).toEqual([{ rows: '4' }]);
    } finally {
      dispose();
    }
  });

  it('generator state round-trips: the draws after a restore repeat', async () => {
    const path = join(dir, 'rng.safetensors');
    await save({ 'rng.openreg:1': getRngState('openreg:1'), 'rng.cpu': getRngState('cpu') }, path);
    const first = await rand([5], { device: 'openreg:1' }).data();
    const host = await rand([5]).data();
    const states = await load(path);
    setRngState(states['rng.openreg:1']!, 'openreg:1');
    setRngState(states['rng.cpu']!, 'cpu');
    expect(await rand([5], { device: 'openreg:1' }).data()).toEqual(first);
    expect(await rand([5]).data()).toEqual(host);
  });
});

describe('malformed files', () => {
  const good = { x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
  const cases: [string, () => Uint8Array, RegExp][] = [
    ['truncated before the length', () => new Uint8Array(5), /truncated: 5 bytes/],
    ['a header longer than the file', () => writeSafetensors(good, f32(1, 2)).subarray(0, 20), /header length \d+ is longer than the file/],
    ['a header over 100 MB', () => {
      const b = writeSafetensors(good, f32(1, 2));
      new DataView(b.buffer).setBigUint64(0, 200_000_000n, true);
      return b;
    }, /over the 100000000-byte limit/],
    ['JSON that does not parse', () => writeSafetensors({}, new Uint8Array()).fill(0x7b, 8), /not valid UTF-8 JSON/],
    ['an unknown dtype', () => writeSafetensors({ x: { dtype: 'F8', shape: [2], data_offsets: [0, 2] } }, new Uint8Array(2)), /unknown dtype "F8"/],
    ['overlapping offsets', () => writeSafetensors({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, y: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32(1, 2)), /overlaps/],
    ['out-of-order offsets', () => writeSafetensors({ x: { dtype: 'U8', shape: [0], data_offsets: [4, 0] } }, f32(1)), /out-of-order data_offsets/],
    ['a hole in the data', () => writeSafetensors({ x: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, f32(1, 2)), /hole/],
    ['a size that does not match the shape', () => writeSafetensors({ x: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, f32(1, 2)), /needs 12 bytes/],
    ['non-string metadata', () => writeSafetensors({ __metadata__: { epoch: 3 }, ...good }, f32(1, 2)), /"epoch" is number/],
    ['data past the last tensor', () => writeSafetensors(good, f32(1, 2, 3)), /cover 8 bytes but the data section has 12/],
  ];
  it.each(cases)('%s is ERR_INVALID_VALUE naming the problem, never a partial result', async (_name, make, message) => {
    const before = rt.cachingAllocator.memoryStats(0).allocatedBytes.all.current;
    const path = join(dir, 'bad.safetensors');
    const bytes = make();
    writeFileSync(path, bytes);
    for (const source of [bytes, path]) {
      const error = await expectRejectCode(load(source, { mapLocation: 'openreg:0' }), ErrorCode.INVALID_VALUE);
      expect(error.message).toMatch(/^load: not a valid safetensors file: /);
      expect(error.message).toMatch(message);
    }
    expect(rt.cachingAllocator.memoryStats(0).allocatedBytes.all.current).toBe(before);
  });

  it('bad arguments are coded errors naming the call', async () => {
    await expectRejectCode(save({ x: 5 as never }), ErrorCode.INVALID_VALUE);
    await expectRejectCode(save({ x: zeros([1]) }, undefined, { metadata: { n: 1 as never } }), ErrorCode.INVALID_VALUE);
    await expectRejectCode(load(5 as never), ErrorCode.INVALID_VALUE);
    await expectRejectCode(load(new Uint8Array(8), { mapLocation: 'gpu' }), ErrorCode.INVALID_VALUE);
  });
});

describe('streaming', () => {
  it('saves and loads a 24 MiB device tensor through a file with 16 MiB of pinned memory in all', async () => {
    const big = rand([6 << 20], { device: 'openreg:1' }); // 24 MiB of float32
    const path = join(dir, 'big.safetensors');
    await save({ big }, path);
    expect(statSync(path).size).toBeGreaterThan(24 << 20);
    const back = (await load(path)).big!;
    expect(await back.eq(big).sum().item()).toBe(6 << 20);
    expect(rt.hostAllocator.stats().reservedBytes).toBeLessThanOrEqual(8 << 20);
    for (const t of [big, back]) t.dispose();
  });
});

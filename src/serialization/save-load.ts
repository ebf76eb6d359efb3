import { type FileHandle, open } from 'node:fs/promises';
import { invalidValue } from '../errors/errors.js';
import { requireOptions } from '../errors/validate.js';
import { OpenRegError } from '../errors/openreg-error.js';
import { MemcpyKind } from '../memory/memcpy-kind.js';
import { type DeviceLike, type TensorDevice, resolveDevice } from '../tensor/device.js';
import { DTYPES } from '../tensor/dtype.js';
import { Tensor, op } from '../tensor/tensor.js';
import { serializationOf } from './backend-serialization.js';
import { type Header, type HeaderEntry, METADATA_KEY, encodeHeader, headerLength, parseHeader } from './safetensors-format.js';
import '../ops/builtins.js';

/** Named tensors, as a model's `state_dict()`. */
export type StateDict = Record<string, Tensor>;

export interface SaveOptions {
  /** Extra `__metadata__` entries (strings; keys starting with `openreg.` are reserved). */
  metadata?: Record<string, string>;
}

export interface LoadOptions {
  /** Where tensors go: a device for all, or `(name, savedDevice) => device`; by default where they were saved. Moving a tensor drops its backend metadata. */
  mapLocation?: DeviceLike | ((name: string, savedDevice: string) => DeviceLike);
}

/** Bytes moved per step between a device and a file: the most pinned memory a save or load holds. */
const CHUNK_BYTES = 4 << 20;
const DEVICE_KEY = 'openreg.device.';
const BACKEND_KEY = 'openreg.backend.';

function requireStateDict(call: string, tensors: unknown): [string, Tensor][] {
  const pairs = tensors instanceof Map ? [...tensors.entries()] : tensors !== null && typeof tensors === 'object' ? Object.entries(tensors) : undefined;
  if (pairs === undefined) throw invalidValue(call, 'tensors must be an object or a Map of named Tensors', tensors);
  for (const [name, t] of pairs) {
    if (typeof name !== 'string' || name === '' || name === METADATA_KEY) throw invalidValue(call, 'tensor names must be non-empty strings other than __metadata__', name);
    if (!(t instanceof Tensor)) throw invalidValue(call, `tensors[${JSON.stringify(name)}] must be a Tensor`, t);
    if (t.disposed) throw invalidValue(call, `tensors[${JSON.stringify(name)}] was disposed`);
    if (t.meta) throw invalidValue(call, `tensors[${JSON.stringify(name)}] is a meta tensor: it has no data to save`);
  }
  return pairs as [string, Tensor][];
}

/**
 * Saves tensors in the safetensors format, readable by any safetensors reader, to `path`
 * (streamed: a device tensor goes through one pinned chunk at a time) or, without a path,
 * into the returned bytes. Each tensor's device (`openreg:1`) and its backend's metadata
 * travel in `__metadata__` under `openreg.` keys.
 */
export async function save(tensors: StateDict | Map<string, Tensor>, path?: string, options?: SaveOptions): Promise<Uint8Array | undefined> {
  const call = 'save';
  const pairs = requireStateDict(call, tensors);
  if (path !== undefined && typeof path !== 'string') throw invalidValue(call, 'path must be a file path', path);
  const o = requireOptions<SaveOptions>(call, options);
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(o.metadata ?? {})) {
    if (typeof v !== 'string') throw invalidValue(call, `options.metadata[${JSON.stringify(k)}] must be a string (safetensors metadata is strings only)`, v);
    if (k.startsWith('openreg.')) throw invalidValue(call, 'metadata keys starting with openreg. are reserved', k);
    metadata[k] = v;
  }
  // Widest elements first, then by name: every tensor starts aligned to its element size.
  pairs.sort(([a, x], [b, y]) => y.itemsize - x.itemsize || (a < b ? -1 : a > b ? 1 : 0));
  const entries: HeaderEntry[] = [];
  let at = 0;
  for (const [name, t] of pairs) {
    const bytes = t.numel() * t.itemsize;
    entries.push({ name, dtype: t.dtype, shape: [...t.shape], begin: at, end: at + bytes });
    at += bytes;
    metadata[DEVICE_KEY + name] = t.device.toString();
    const backend = serializationOf(t.device.type);
    if (backend !== undefined) metadata[BACKEND_KEY + name] = JSON.stringify(backend.serialize(t));
  }
  const header = encodeHeader(entries, metadata);
  if (path === undefined) {
    const out = new Uint8Array(header.byteLength + at);
    out.set(header);
    for (const [i, [, t]] of pairs.entries()) {
      let offset = header.byteLength + entries[i]!.begin;
      await readChunks(call, t, async (chunk) => {
        out.set(chunk, offset);
        offset += chunk.byteLength;
      });
    }
    return out;
  }
  const file = await open(path, 'w');
  try {
    await file.write(header);
    for (const [, t] of pairs) await readChunks(call, t, (chunk) => file.write(chunk).then(() => undefined));
  } finally {
    await file.close();
  }
  return undefined;
}

/** Hands `t`'s bytes, row-major, to `sink` a chunk at a time (device tensors through one pinned block). */
async function readChunks(call: string, t: Tensor, sink: (chunk: Uint8Array) => Promise<void>): Promise<void> {
  const c = t.contiguous();
  try {
    const n = c.numel() * c.itemsize;
    if (n === 0) return;
    await c.ready();
    const s = c.storage(call);
    if (!c.onDevice) {
      await sink(new Uint8Array(s.buffer!, s.byteOffset + c.storageOffset * c.itemsize, n));
      return;
    }
    const rt = s.runtime!;
    const stream = rt.getCurrentStream(c.device.index!);
    const pinned = rt.hostAllocator.allocate(Math.min(n, CHUNK_BYTES));
    try {
      for (let off = 0; off < n; off += CHUNK_BYTES) {
        const len = Math.min(CHUNK_BYTES, n - off);
        rt.memcpyAsync(pinned, c.dataPtr() + off, len, MemcpyKind.deviceToHost, stream);
        await rt.streamSynchronize(stream);
        await sink(pinned.subarray(0, len));
      }
    } finally {
      rt.hostAllocator.free(pinned);
    }
  } finally {
    if (c !== t) c.dispose();
  }
}

/** Where the bytes come from: a file (read at positions) or bytes in memory. */
interface Source {
  size: number;
  read(into: Uint8Array, position: number): Promise<void>;
  close(): Promise<void>;
}

async function openSource(call: string, source: unknown): Promise<Source> {
  if (source instanceof Uint8Array) {
    return { size: source.byteLength, read: async (into, position) => into.set(source.subarray(position, position + into.byteLength)), close: async () => undefined };
  }
  if (typeof source !== 'string') throw invalidValue(call, 'source must be a file path or a Uint8Array', source);
  const file: FileHandle = await open(source, 'r');
  const { size } = await file.stat();
  return {
    size,
    read: async (into, position) => {
      let done = 0;
      while (done < into.byteLength) {
        const { bytesRead } = await file.read(into, done, into.byteLength - done, position + done);
        if (bytesRead === 0) throw invalidValue(call, `the file ended at byte ${position + done} (it changed while being read)`);
        done += bytesRead;
      }
    },
    close: () => file.close(),
  };
}

/** The length, then the header, checked against the size of what follows. */
async function readHeader(call: string, src: Source): Promise<Header> {
  const first = new Uint8Array(8);
  if (src.size >= 8) await src.read(first, 0);
  const headerBytes = new Uint8Array(headerLength(call, first, src.size));
  await src.read(headerBytes, 8);
  return parseHeader(call, headerBytes, src.size - 8 - headerBytes.byteLength);
}

/** What a file says of its tensors, checked: the header and each tensor's target device. */
interface Plan {
  entry: HeaderEntry;
  device: TensorDevice;
  /** The backend metadata to check on load (undefined when the tensor moved or has none). */
  backend: Record<string, string> | undefined;
}

/**
 * Loads a safetensors file or bytes. Every check (the format, each tensor's dtype, shape and
 * offsets, the target devices) runs before any tensor is made, so a malformed file gives
 * ERR_INVALID_VALUE naming the problem and never a partial result. Device tensors are read
 * through one pinned chunk at a time.
 */
export async function load(source: string | Uint8Array, options?: LoadOptions): Promise<StateDict> {
  const call = 'load';
  const o = requireOptions<LoadOptions>(call, options);
  const map = o.mapLocation;
  if (map !== undefined && typeof map !== 'function' && typeof map !== 'string' && typeof map !== 'number' && typeof map !== 'object') {
    throw invalidValue(call, 'options.mapLocation must be a device or a function', map);
  }
  const src = await openSource(call, source);
  const made: Tensor[] = [];
  try {
    const header = await readHeader(call, src);
    const plans = header.entries.map((entry): Plan => {
      const saved = header.metadata[DEVICE_KEY + entry.name] ?? 'cpu';
      const target = map === undefined ? saved : typeof map === 'function' ? map(entry.name, saved) : map;
      const device = resolveDevice(call, target);
      const raw = header.metadata[BACKEND_KEY + entry.name];
      const moved = map !== undefined && device.toString() !== saved;
      return { entry, device, backend: moved || raw === undefined ? undefined : backendMetadata(call, entry.name, raw) };
    });
    const out: StateDict = {};
    for (const { entry, device, backend } of plans) {
      const t = op(call, 'empty', [entry.shape, entry.dtype, device], device) as Tensor;
      made.push(t);
      await fill(call, t, src, header.dataStart + entry.begin);
      if (backend !== undefined) deserialize(call, t, backend);
      out[entry.name] = t;
    }
    return out;
  } catch (error) {
    for (const t of made) t.dispose();
    throw error;
  } finally {
    await src.close();
  }
}

/** The backend's check of a loaded tensor; whatever it throws becomes ERR_INVALID_VALUE naming load. */
function deserialize(call: string, t: Tensor, metadata: Record<string, string>): void {
  try {
    serializationOf(t.device.type)?.deserialize(t, metadata);
  } catch (error) {
    if (error instanceof OpenRegError) throw error;
    throw invalidValue(call, `the ${t.device.type} backend refused tensor data: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The `__metadata__` of a safetensors file or bytes that is not openreg's own (what `save(..., { metadata })` wrote). */
export async function loadMetadata(source: string | Uint8Array): Promise<Record<string, string>> {
  const call = 'loadMetadata';
  const src = await openSource(call, source);
  try {
    const { metadata } = await readHeader(call, src);
    return Object.fromEntries(Object.entries(metadata).filter(([k]) => !k.startsWith('openreg.')));
  } finally {
    await src.close();
  }
}

function backendMetadata(call: string, name: string, raw: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    parsed = undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Object.values(parsed).some((v) => typeof v !== 'string')) {
    throw invalidValue(call, `the backend metadata of tensor ${JSON.stringify(name)} is not an object of strings`, raw);
  }
  return parsed as Record<string, string>;
}

/** Reads a tensor's bytes from `src` at `position` into its storage (a device tensor a pinned chunk at a time). */
async function fill(call: string, t: Tensor, src: Source, position: number): Promise<void> {
  const n = t.numel() * DTYPES[t.dtype].itemsize;
  if (n === 0 || t.meta) return;
  const s = t.storage(call);
  if (!t.onDevice) {
    await src.read(new Uint8Array(s.buffer!, s.byteOffset, n), position);
    return;
  }
  const rt = s.runtime!;
  const stream = rt.getCurrentStream(t.device.index!);
  const pinned = rt.hostAllocator.allocate(Math.min(n, CHUNK_BYTES));
  try {
    for (let off = 0; off < n; off += CHUNK_BYTES) {
      const len = Math.min(CHUNK_BYTES, n - off);
      // The chunk is reused only after the device has read it.
      await rt.streamSynchronize(stream);
      await src.read(pinned.subarray(0, len), position + off);
      rt.memcpyAsync(t.dataPtr() + off, pinned.subarray(0, len), len, MemcpyKind.hostToDevice, stream);
    }
    await rt.streamSynchronize(stream);
  } finally {
    rt.hostAllocator.free(pinned);
  }
}

import { randomBytes } from 'node:crypto';
import { type FileHandle, open, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { invalidValue } from '../errors/errors.js';
import { OpenRegError } from '../errors/openreg-error.js';
import { type DeviceLike, type TensorDevice, resolveDevice } from '../tensor/device.js';
import { DTYPES } from '../tensor/dtype.js';
import { Tensor, op } from '../tensor/tensor.js';
import { type SerializationCallbacks, serializationOf } from './backend-serialization.js';
import { causedError, fileError, isPlainObject, reasonOf, requirePath } from './checks.js';
import { requireOptions, requireArity } from '../errors/validate.js';
import { type Header, type HeaderEntry, METADATA_KEY, encodeHeader, headerLength, parseHeader } from './safetensors-format.js';
import '../ops/builtins.js';
import { executorFor } from '../ops/host-executors.js';

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

const DEVICE_KEY = 'openreg.device.';
const BACKEND_KEY = 'openreg.backend.';

/** A record whose every key is data: no prototype, so `__proto__`, `constructor` or `toString` are names like any other. */
function record<V>(pairs: Iterable<readonly [string, V]> = []): Record<string, V> {
  const out = Object.create(null) as Record<string, V>;
  for (const [k, v] of pairs) out[k] = v;
  return out;
}

function requireStateDict(call: string, tensors: unknown): [string, Tensor][] {
  // A plain object or a Map only: an array, a Tensor or a forgotten `await` (a Promise) would save nothing, silently.
  const pairs = tensors instanceof Map ? [...tensors.entries()] : isPlainObject(tensors) ? Object.entries(tensors) : undefined;
  if (pairs === undefined) throw invalidValue(call, 'tensors must be a plain object or a Map of named Tensors', tensors);
  if (!(tensors instanceof Map) && Object.getOwnPropertySymbols(tensors).length > 0) throw invalidValue(call, 'tensor names must be strings, not symbols');
  for (const [name, t] of pairs) {
    if (typeof name !== 'string' || name === '' || name === METADATA_KEY) throw invalidValue(call, 'tensor names must be non-empty strings other than __metadata__', name);
    if (!Tensor.isGenuine(t)) throw invalidValue(call, `tensors[${JSON.stringify(name)}] must be a Tensor`, t);
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
  requireArity(call, arguments, 3);
  const pairs = requireStateDict(call, tensors);
  if (path !== undefined) requirePath(call, 'path', path);
  const o = requireOptions<SaveOptions>(call, options, 'options', ['metadata']);
  if (o.metadata !== undefined && !isPlainObject(o.metadata)) throw invalidValue(call, 'options.metadata must be a plain object of strings', o.metadata);
  const metadata = record<string>();
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
    if (backend !== undefined) metadata[BACKEND_KEY + name] = JSON.stringify(serialize(call, backend, name, t));
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
  await saveFile(call, path, header, pairs);
  return undefined;
}

/** What a backend's serialize returned, checked: an object of strings (what load will hand to deserialize). */
function serialize(call: string, backend: SerializationCallbacks, name: string, t: Tensor): Record<string, string> {
  let out: unknown;
  try {
    out = backend.serialize(t);
  } catch (error) {
    throw causedError('invalidArgument', { call, problem: `the ${t.device.type} backend's serialize failed for tensor ${JSON.stringify(name)}: ${reasonOf(error)}` }, error);
  }
  if (!isPlainObject(out) || Object.values(out).some((v) => typeof v !== 'string')) {
    throw invalidValue(call, `the ${t.device.type} backend's serialize must return an object of strings (tensor ${JSON.stringify(name)})`, out);
  }
  return out as Record<string, string>;
}

/**
 * Writes the file beside `path` under a unique temporary name and renames it over `path` once
 * complete, so a reader sees the old file or the new one, never half of one; on failure the
 * temporary is removed and `path` is untouched.
 */
async function saveFile(call: string, path: string, header: Uint8Array, pairs: readonly [string, Tensor][]): Promise<void> {
  const fs = <T>(p: Promise<T>): Promise<T> => p.catch((error: unknown) => Promise.reject(fileError(call, 'write', path, error)));
  // Through a symlink, as a plain write would; a path that does not exist yet is its own target.
  const target = await realpath(path).catch(() => path);
  const temp = join(dirname(target), `.${basename(target)}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
  // A replaced file keeps its permissions (a 0600 file stays private); a new one gets the default.
  const mode = (await stat(target).catch(() => undefined))?.mode;
  let file: FileHandle | undefined;
  let created = false;
  try {
    file = await fs(open(temp, 'wx', mode === undefined ? 0o666 : mode & 0o7777));
    created = true;
    const out = file;
    const write = async (bytes: Uint8Array): Promise<void> => {
      for (let done = 0; done < bytes.byteLength; ) done += (await fs(out.write(bytes, done, bytes.byteLength - done))).bytesWritten;
    };
    await write(header);
    for (const [, t] of pairs) await readChunks(call, t, write);
    file = undefined;
    await fs(out.close());
    await fs(rename(temp, target));
    created = false;
  } catch (error) {
    await file?.close().catch(() => undefined);
    if (created) await unlink(temp).catch(() => undefined);
    throw error;
  }
}

/** Hands `t`'s bytes, row-major, to `sink` a chunk at a time (the backend bounds the memory it stages). */
async function readChunks(call: string, t: Tensor, sink: (chunk: Uint8Array) => Promise<void>): Promise<void> {
  const c = op(call, 'contiguous', [t]) as Tensor;
  try {
    const n = c.numel() * c.itemsize;
    if (n === 0) return;
    await executorFor(call, c.device).readChunks(call, c, sink);
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
  const path = requirePath(call, 'source', source);
  const fs = <T>(p: Promise<T>): Promise<T> => p.catch((error: unknown) => Promise.reject(fileError(call, 'read', path, error)));
  const file: FileHandle = await fs(open(path, 'r'));
  let size: number;
  try {
    ({ size } = await fs(file.stat()));
  } catch (error) {
    await file.close().catch(() => undefined);
    throw error;
  }
  return {
    size,
    read: async (into, position) => {
      let done = 0;
      while (done < into.byteLength) {
        const { bytesRead } = await fs(file.read(into, done, into.byteLength - done, position + done));
        if (bytesRead === 0) throw invalidValue(call, `the file ended at byte ${position + done} (it changed while being read)`);
        done += bytesRead;
      }
    },
    close: () => fs(file.close()),
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
  requireArity(call, arguments, 2);
  const o = requireOptions<LoadOptions>(call, options, 'options', ['mapLocation']);
  const map = o.mapLocation;
  if (map !== undefined && typeof map !== 'function' && typeof map !== 'string' && typeof map !== 'number' && typeof map !== 'object') {
    throw invalidValue(call, 'options.mapLocation must be a device or a function', map);
  }
  // A fixed target is checked before the file is opened: a bad one fails even for a file of no tensors.
  const fixed = map === undefined || typeof map === 'function' ? undefined : resolveDevice(call, map);
  const src = await openSource(call, source);
  const made: Tensor[] = [];
  try {
    const header = await readHeader(call, src);
    const plans = header.entries.map((entry): Plan => {
      const saved = header.metadata[DEVICE_KEY + entry.name] ?? 'cpu';
      const device = map === undefined ? resolveDevice(call, saved) : typeof map === 'function' ? resolveDevice(call, mapped(call, map, entry.name, saved)) : fixed!;
      const raw = header.metadata[BACKEND_KEY + entry.name];
      const moved = map !== undefined && device.toString() !== saved;
      return { entry, device, backend: moved || raw === undefined ? undefined : backendMetadata(call, entry.name, raw) };
    });
    const out = record<Tensor>();
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

/** Where a `mapLocation` function puts a tensor; what it throws, or no device, is ERR_INVALID_VALUE naming load. */
function mapped(call: string, map: (name: string, savedDevice: string) => DeviceLike, name: string, saved: string): DeviceLike {
  let target: DeviceLike;
  try {
    target = map(name, saved);
  } catch (error) {
    throw causedError('invalidArgument', { call, problem: `options.mapLocation threw for tensor ${JSON.stringify(name)}: ${reasonOf(error)}` }, error);
  }
  // resolveDevice takes undefined as the cpu; a function that returns nothing has not chosen it.
  if (target === undefined) throw invalidValue(call, `options.mapLocation must return a device for tensor ${JSON.stringify(name)}`, target);
  return target;
}

/** The backend's check of a loaded tensor; whatever it throws becomes ERR_INVALID_VALUE naming load. */
function deserialize(call: string, t: Tensor, metadata: Record<string, string>): void {
  try {
    serializationOf(t.device.type)?.deserialize(t, metadata);
  } catch (error) {
    if (error instanceof OpenRegError) throw error;
    throw causedError('invalidArgument', { call, problem: `the ${t.device.type} backend refused tensor data: ${reasonOf(error)}` }, error);
  }
}

/** The `__metadata__` of a safetensors file or bytes that is not openreg's own (what `save(..., { metadata })` wrote). */
export async function loadMetadata(source: string | Uint8Array): Promise<Record<string, string>> {
  const call = 'loadMetadata';
  requireArity(call, arguments, 1);
  const src = await openSource(call, source);
  try {
    const { metadata } = await readHeader(call, src);
    return record(Object.entries(metadata).filter(([k]) => !k.startsWith('openreg.')));
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
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed) || Object.values(parsed).some((v) => typeof v !== 'string')) {
    throw invalidValue(call, `the backend metadata of tensor ${JSON.stringify(name)} is not an object of strings`, raw);
  }
  return record(Object.entries(parsed as Record<string, string>));
}

/** Reads a tensor's bytes from `src` at `position` into its storage, a chunk at a time. */
async function fill(call: string, t: Tensor, src: Source, position: number): Promise<void> {
  const n = t.numel() * DTYPES[t.dtype].itemsize;
  if (n === 0 || t.meta) return;
  await executorFor(call, t.device).writeChunks(call, t, (into, offset) => src.read(into, position + offset));
}

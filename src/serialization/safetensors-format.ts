import { invalidValue } from '../errors/errors.js';
import type { OpenRegError } from '../errors/openreg-error.js';
import { DTYPES, type DType } from '../tensor/dtype.js';
import { MAX_TENSOR_DIMS } from '../protocol/tensor-abi.js';

/**
 * The safetensors format (huggingface/safetensors): an 8-byte little-endian header length
 * N, N bytes of JSON header padded with spaces, then the tensors' bytes, row-major and
 * little-endian, indexed by `data_offsets` with no holes. Both halves live here.
 */

/** The largest header a reader accepts (the reference implementation's limit). */
export const MAX_HEADER_BYTES = 100_000_000;
export const METADATA_KEY = '__metadata__';

const NAMES: Readonly<Record<DType, string>> = { float16: 'F16', bfloat16: 'BF16', float32: 'F32', float64: 'F64', int32: 'I32', int64: 'I64', uint8: 'U8', bool: 'BOOL' };
const BY_NAME = new Map(Object.entries(NAMES).map(([dtype, name]) => [name, dtype as DType]));

export function safetensorsDtype(dtype: DType): string {
  return NAMES[dtype];
}

/** One tensor of a file: where its bytes are in the data section. */
export interface HeaderEntry {
  name: string;
  dtype: DType;
  shape: number[];
  begin: number;
  end: number;
}

export interface Header {
  /** Bytes before the data section: 8 + the header length. */
  dataStart: number;
  /** Entries in data order. */
  entries: HeaderEntry[];
  metadata: Record<string, string>;
}

/** The 8-byte length and the JSON header, padded with spaces to a multiple of 8. */
export function encodeHeader(entries: readonly HeaderEntry[], metadata: Record<string, string>): Uint8Array {
  // No prototype: a tensor or key named __proto__ is a key here, not a prototype assignment that JSON.stringify would drop.
  const json = Object.create(null) as Record<string, unknown>;
  if (Object.keys(metadata).length > 0) json[METADATA_KEY] = metadata;
  for (const e of entries) json[e.name] = { dtype: NAMES[e.dtype], shape: e.shape, data_offsets: [e.begin, e.end] };
  const text = new TextEncoder().encode(JSON.stringify(json));
  const padded = Math.ceil(text.length / 8) * 8;
  const out = new Uint8Array(8 + padded).fill(0x20, 8);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(text, 8);
  return out;
}

/**
 * Reads the header length from the first 8 bytes of a file of `fileBytes` bytes; every
 * malformed case is ERR_INVALID_VALUE naming the problem.
 */
export function headerLength(call: string, first8: Uint8Array, fileBytes: number): number {
  if (fileBytes < 8) throw malformed(call, `the file is truncated: ${fileBytes} bytes, fewer than the 8-byte header length`);
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) throw malformed(call, `the header length ${n} is over the ${MAX_HEADER_BYTES}-byte limit`);
  if (Number(n) > fileBytes - 8) throw malformed(call, `the header length ${n} is longer than the file (${fileBytes - 8} bytes after the length)`);
  return Number(n);
}

/** Parses and checks the JSON header; `dataBytes` is the size of the data section. */
export function parseHeader(call: string, headerBytes: Uint8Array, dataBytes: number): Header {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes));
  } catch (error) {
    throw malformed(call, `the header is not valid UTF-8 JSON (${(error as Error).message})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw malformed(call, 'the header is not a JSON object');
  // No prototype, so a key named __proto__ (or constructor) is kept as data.
  const metadata = Object.create(null) as Record<string, string>;
  const entries: HeaderEntry[] = [];
  for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
    if (name === METADATA_KEY) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) throw malformed(call, '__metadata__ must be an object of strings');
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (typeof v !== 'string') throw malformed(call, `__metadata__ must map strings to strings, but ${JSON.stringify(k)} is ${v === null ? 'null' : typeof v}`);
        metadata[k] = v;
      }
      continue;
    }
    entries.push(entry(call, name, value));
  }
  // The data section must be covered exactly once, in order: no overlaps, no holes.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const e of entries) {
    if (e.begin !== at) {
      throw malformed(call, e.begin < at ? `tensor ${JSON.stringify(e.name)} overlaps the one before it (offsets [${e.begin}, ${e.end}], previous end ${at})` : `the data has a hole before tensor ${JSON.stringify(e.name)} (bytes ${at} to ${e.begin})`);
    }
    at = e.end;
  }
  if (at !== dataBytes) throw malformed(call, `the tensors cover ${at} bytes but the data section has ${dataBytes}`);
  return { dataStart: 8 + headerBytes.byteLength, entries, metadata };
}

function entry(call: string, name: string, value: unknown): HeaderEntry {
  const what = `tensor ${JSON.stringify(name)}`;
  if (value === null || typeof value !== 'object') throw malformed(call, `${what} is not an object`);
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  const type = typeof dtype === 'string' ? BY_NAME.get(dtype) : undefined;
  if (type === undefined) throw malformed(call, `${what} has an unknown dtype ${JSON.stringify(dtype)} (known: ${[...BY_NAME.keys()].join(', ')})`);
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw malformed(call, `${what} has a malformed shape ${JSON.stringify(shape)}`);
  // The one dimension limit of every tensor entry, checked before anything is made.
  if (shape.length > MAX_TENSOR_DIMS) throw malformed(call, `${what} has ${shape.length} dimensions; tensors of at most ${MAX_TENSOR_DIMS} dimensions are supported`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    throw malformed(call, `${what} has malformed data_offsets ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) throw malformed(call, `${what} has out-of-order data_offsets [${begin}, ${end}]`);
  const bytes = (shape as number[]).reduce((p, d) => p * d, 1) * DTYPES[type].itemsize;
  if (end - begin !== bytes) throw malformed(call, `${what} of dtype ${dtype} and shape [${shape.join(', ')}] needs ${bytes} bytes, but its data_offsets span ${end - begin}`);
  return { name, dtype: type, shape: shape as number[], begin, end };
}

function malformed(call: string, problem: string): OpenRegError {
  return invalidValue(call, `not a valid safetensors file: ${problem}`);
}

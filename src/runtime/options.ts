import { invalidValue } from '../errors/errors.js';
import { MAX_DEVICES } from '../protocol/layout.js';

/** Options of `Runtime.create`. */
export interface RuntimeOptions {
  /**
   * Number of emulated devices, each with its own worker thread.
   * @default 2
   */
  deviceCount?: number;
  /**
   * Memory of each device, in bytes (at most 4 GiB).
   * @default 268435456 (256 MiB)
   */
  deviceMemoryBytes?: number;
  /**
   * Pinned host memory available to `mallocHost`, in bytes.
   * @default 268435456 (256 MiB)
   */
  hostMemoryBytes?: number;
  /**
   * Staging memory for asynchronous copies from pageable host memory, in bytes.
   * @default 16777216 (16 MiB)
   */
  stagingBytes?: number;
}

export interface ResolvedRuntimeOptions {
  deviceCount: number;
  deviceMemoryBytes: number;
  hostMemoryBytes: number;
  stagingBytes: number;
}

const MiB = 1024 * 1024;
const MAX_DEVICE_MEMORY = 4 * 1024 * MiB;

export function resolveRuntimeOptions(options: unknown): ResolvedRuntimeOptions {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw invalidValue('Runtime.create', 'options must be an object', options);
  }
  const o = (options ?? {}) as Record<string, unknown>;
  const known = new Set(['deviceCount', 'deviceMemoryBytes', 'hostMemoryBytes', 'stagingBytes']);
  for (const key of Object.keys(o)) {
    if (!known.has(key)) throw invalidValue('Runtime.create', `unknown option ${JSON.stringify(key)}`);
  }
  return {
    deviceCount: integerOption(o, 'deviceCount', 2, 1, MAX_DEVICES),
    deviceMemoryBytes: integerOption(o, 'deviceMemoryBytes', 256 * MiB, 4096, MAX_DEVICE_MEMORY),
    hostMemoryBytes: integerOption(o, 'hostMemoryBytes', 256 * MiB, 0, MAX_DEVICE_MEMORY),
    stagingBytes: integerOption(o, 'stagingBytes', 16 * MiB, 4096, MAX_DEVICE_MEMORY),
  };
}

function integerOption(o: Record<string, unknown>, name: string, fallback: number, min: number, max: number): number {
  const value = o[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidValue('Runtime.create', `options.${name} must be an integer in [${min}, ${max}]`, value);
  }
  return value;
}

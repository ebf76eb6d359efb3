import { invalidValue } from '../errors/errors.js';
import { given, requireInteger, requireOptions } from '../errors/validate.js';
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

const CALL = 'Runtime.create';

export function resolveRuntimeOptions(options: unknown): ResolvedRuntimeOptions {
  const o = requireOptions<RuntimeOptions>(CALL, options);
  const known = new Set(['deviceCount', 'deviceMemoryBytes', 'hostMemoryBytes', 'stagingBytes']);
  for (const key of Object.keys(o)) {
    if (!known.has(key)) throw invalidValue(CALL, `unknown option ${JSON.stringify(key)}`);
  }
  return {
    deviceCount: requireInteger(CALL, 'options.deviceCount', given(o.deviceCount, 2), 1, MAX_DEVICES),
    deviceMemoryBytes: requireInteger(CALL, 'options.deviceMemoryBytes', given(o.deviceMemoryBytes, 256 * MiB), 4096, MAX_DEVICE_MEMORY),
    hostMemoryBytes: requireInteger(CALL, 'options.hostMemoryBytes', given(o.hostMemoryBytes, 256 * MiB), 0, MAX_DEVICE_MEMORY),
    stagingBytes: requireInteger(CALL, 'options.stagingBytes', given(o.stagingBytes, 16 * MiB), 4096, MAX_DEVICE_MEMORY),
  };
}

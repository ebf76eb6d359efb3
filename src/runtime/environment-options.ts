import { invalidValue } from '../errors/errors.js';
import type { RuntimeOptions } from './options.js';

/**
 * The options of the runtime lazy initialization starts, from the environment (what
 * `CUDA_VISIBLE_DEVICES` and friends are to CUDA). Each variable is optional; a value that
 * does not parse is an error naming the variable, never ignored.
 */
export const ENVIRONMENT_OPTIONS = {
  /** Number of devices. */
  OPENREG_DEVICE_COUNT: 'deviceCount',
  /** Bytes of memory per device; a K, M or G suffix multiplies by 2^10, 2^20, 2^30. */
  OPENREG_DEVICE_MEMORY: 'deviceMemoryBytes',
  /** Bytes of pinned host memory. */
  OPENREG_HOST_MEMORY: 'hostMemoryBytes',
  /** `1` turns the stream sanitizer on. */
  OPENREG_SANITIZE: 'sanitize',
} as const;

const SUFFIX: Readonly<Record<string, number>> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30 };

function bytes(call: string, name: string, text: string): number {
  const m = /^(\d+)([KMG]?)(?:i?B)?$/i.exec(text.trim());
  if (m === null) throw invalidValue(call, `environment variable ${name} must be a byte count such as 268435456 or 256M`, text);
  return Number(m[1]) * SUFFIX[m[2]!.toUpperCase()]!;
}

/** RuntimeOptions from `env` (process.env by default). */
export function optionsFromEnvironment(call: string, env: NodeJS.ProcessEnv = process.env): RuntimeOptions {
  const options: { -readonly [K in keyof RuntimeOptions]: RuntimeOptions[K] } = {};
  const count = env['OPENREG_DEVICE_COUNT'];
  if (count !== undefined && count !== '') {
    if (!/^\d+$/.test(count.trim())) throw invalidValue(call, 'environment variable OPENREG_DEVICE_COUNT must be a positive integer', count);
    options.deviceCount = Number(count);
  }
  const memory = env['OPENREG_DEVICE_MEMORY'];
  if (memory !== undefined && memory !== '') options.deviceMemoryBytes = bytes(call, 'OPENREG_DEVICE_MEMORY', memory);
  const host = env['OPENREG_HOST_MEMORY'];
  if (host !== undefined && host !== '') options.hostMemoryBytes = bytes(call, 'OPENREG_HOST_MEMORY', host);
  const sanitize = env['OPENREG_SANITIZE'];
  if (sanitize !== undefined && sanitize !== '') {
    if (sanitize !== '0' && sanitize !== '1') throw invalidValue(call, 'environment variable OPENREG_SANITIZE must be 0 or 1', sanitize);
    options.sanitize = sanitize === '1';
  }
  return options;
}

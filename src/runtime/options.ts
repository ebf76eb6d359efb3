import { invalidValue } from '../errors/errors.js';
import { given, requireBoolean, requireFinite, requireInteger, requireOneOf, requireOptions } from '../errors/validate.js';
import { MAX_DEVICES } from '../protocol/layout.js';
import { KERNEL_WORKSPACE_BYTES, MAX_WASM_MEMORY_BYTES } from '../protocol/wasm-memory.js';

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
  /**
   * Turns the stream sanitizer on from the start (`rt.sanitizer.enable(options)`): data races
   * between streams become ERR_DATA_RACE. `true` means `{ mode: 'throw' }`.
   * @default off
   */
  sanitize?: boolean | { mode?: 'throw' | 'collect'; stacks?: boolean };
  /**
   * Schedule fuzzing: each device worker picks among its ready streams at random (seeded)
   * and pauses up to `maxDelayUs` before commands, within what CUDA's ordering rules allow,
   * so interleavings this machine rarely produces happen. The same seed makes the same choices.
   * @default off (streams run in priority order, at once)
   */
  schedule?: { seed: number; mode?: 'random'; maxDelayUs?: number };
  /**
   * Heap and stack limits of each device worker (Node's `resourceLimits`). The parent's
   * V8 flags such as `--max-old-space-size` do not reach workers: set their limits here.
   * @default Node's defaults
   */
  workerResourceLimits?: WorkerResourceLimits;
  /**
   * The watchdog: a kernel that runs longer than this terminates its device's worker, and
   * the device fails with ERR_LAUNCH_TIMEOUT until `deviceReset` (CUDA's display watchdog).
   * @default no limit
   */
  kernelTimeoutMs?: number;
  /**
   * How long a launch or copy may block on a full stream ring (1024 slots) or full staging
   * memory before it fails with ERR_TIMEOUT instead of enqueueing. Infinity waits forever.
   * @default 60000
   */
  enqueueTimeoutMs?: number;
}

/** Node's worker `resourceLimits`, in MiB. */
export interface WorkerResourceLimits {
  maxOldGenerationSizeMb?: number;
  maxYoungGenerationSizeMb?: number;
  codeRangeSizeMb?: number;
  stackSizeMb?: number;
}

export interface ResolvedRuntimeOptions {
  deviceCount: number;
  deviceMemoryBytes: number;
  hostMemoryBytes: number;
  stagingBytes: number;
  workerResourceLimits: Readonly<WorkerResourceLimits> | undefined;
  kernelTimeoutMs: number | undefined;
  enqueueTimeoutMs: number;
  /** The sanitizer's options when it starts on; undefined when off. */
  sanitize: { mode: 'throw' | 'collect'; stacks: boolean } | undefined;
  schedule: { seed: number; maxDelayUs: number } | undefined;
}

const LIMITS = ['maxOldGenerationSizeMb', 'maxYoungGenerationSizeMb', 'codeRangeSizeMb', 'stackSizeMb'] as const;

const MiB = 1024 * 1024;
const MAX_HOST_MEMORY = 4 * 1024 * MiB;
/** A device's memory is one wasm32 memory (4 GiB) holding its heap and the kernel workspace. */
const MAX_DEVICE_MEMORY = MAX_WASM_MEMORY_BYTES - KERNEL_WORKSPACE_BYTES;

const CALL = 'Runtime.create';

export function resolveRuntimeOptions(options: unknown): ResolvedRuntimeOptions {
  const o = requireOptions<RuntimeOptions>(CALL, options, 'options', ['deviceCount', 'deviceMemoryBytes', 'hostMemoryBytes', 'stagingBytes', 'workerResourceLimits', 'kernelTimeoutMs', 'enqueueTimeoutMs', 'sanitize', 'schedule']);
  const sanitize = given(o.sanitize, false);
  if (typeof sanitize !== 'boolean' && (sanitize === null || typeof sanitize !== 'object' || Array.isArray(sanitize))) throw invalidValue(CALL, 'options.sanitize must be a boolean or sanitizer options', sanitize);
  return {
    deviceCount: requireInteger(CALL, 'options.deviceCount', given(o.deviceCount, 2), 1, MAX_DEVICES),
    deviceMemoryBytes: requireInteger(CALL, 'options.deviceMemoryBytes', given(o.deviceMemoryBytes, 256 * MiB), 4096, MAX_DEVICE_MEMORY),
    hostMemoryBytes: requireInteger(CALL, 'options.hostMemoryBytes', given(o.hostMemoryBytes, 256 * MiB), 0, MAX_HOST_MEMORY),
    stagingBytes: requireInteger(CALL, 'options.stagingBytes', given(o.stagingBytes, 16 * MiB), 4096, MAX_HOST_MEMORY),
    workerResourceLimits: o.workerResourceLimits === undefined ? undefined : resourceLimits(o.workerResourceLimits),
    kernelTimeoutMs: o.kernelTimeoutMs === undefined ? undefined : requireFinite(CALL, 'options.kernelTimeoutMs', o.kernelTimeoutMs, 1),
    enqueueTimeoutMs: requireFinite(CALL, 'options.enqueueTimeoutMs', given(o.enqueueTimeoutMs, 60_000), 0, true),
    // Checked here, before any worker starts, and named as the call the user made.
    sanitize: sanitize === false ? undefined : sanitizerOptions(CALL, sanitize === true ? {} : sanitize, 'options.sanitize'),
    schedule: o.schedule === undefined ? undefined : scheduleOptions(CALL, o.schedule),
  };
}

/** The stream sanitizer's options, checked (Runtime.create's `sanitize`, rt.sanitizer.enable). */
export function sanitizerOptions(call: string, value: unknown, name = 'options'): { mode: 'throw' | 'collect'; stacks: boolean } {
  const o = requireOptions<{ mode: unknown; stacks: unknown }>(call, value, name, ['mode', 'stacks']);
  return {
    mode: requireOneOf(call, `${name}.mode`, given(o.mode, 'throw'), ['throw', 'collect'] as const),
    stacks: requireBoolean(call, `${name}.stacks`, given(o.stacks, false)),
  };
}

/** Schedule fuzzing options, checked (Runtime.create's `schedule`, rt.setSchedule's `schedule`). */
export function scheduleOptions(call: string, value: unknown, name = 'options.schedule'): { seed: number; maxDelayUs: number } {
  const s = requireOptions<{ seed: number; mode: string; maxDelayUs: number }>(call, value, name, ['seed', 'mode', 'maxDelayUs']);
  if (s.mode !== undefined && s.mode !== 'random') throw invalidValue(call, `${name}.mode must be 'random'`, s.mode);
  return {
    seed: requireInteger(call, `${name}.seed`, s.seed, 0, 2 ** 32 - 1),
    maxDelayUs: requireInteger(call, `${name}.maxDelayUs`, given(s.maxDelayUs, 200), 0, 1_000_000),
  };
}

function resourceLimits(value: unknown): Readonly<WorkerResourceLimits> {
  const limits = requireOptions<WorkerResourceLimits>(CALL, value, 'options.workerResourceLimits', LIMITS);
  const resolved: WorkerResourceLimits = {};
  for (const key of LIMITS) {
    const limit = limits[key];
    if (limit !== undefined) resolved[key] = requireFinite(CALL, `options.workerResourceLimits.${key}`, limit, 1);
  }
  return Object.freeze(resolved);
}

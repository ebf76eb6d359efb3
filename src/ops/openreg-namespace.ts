import type { Runtime } from '../api/runtime.js';
import { requireOptions } from '../errors/validate.js';
import type { Event, Stream } from '../runtime/handles.js';
import type { EventOptions } from '../runtime/event-service.js';
import type { StreamOptions } from '../runtime/stream-service.js';
import type { WaitOptions } from '../runtime/wait-options.js';
import type { MemoryStats } from '../integration/allocators/memory-stats.js';
import { type TensorDevice, currentRuntime, device, deviceCount as countDevices, isAvailable as available, openRuntime } from '../tensor/device.js';
import { init } from '../api/init.js';
import type { Tensor } from '../tensor/tensor.js';
import { type AutocastOptions, autocast, isAutocastEnabled } from './autocast.js';
import { getRngState as rngState, setRngState as restoreRngState } from './random-state.js';

/**
 * `torch.openreg` (and `torch.cuda`), one function per PyTorch counterpart, on the backend's
 * runtime — started on first use, like CUDA's lazy initialization. `device` arguments are
 * indices; omitted, they mean the current device.
 */

const rt = (call: string): Runtime => currentRuntime(call);
const index = (call: string, device: number | undefined): number => (device === undefined ? rt(call).getDevice() : device);

function stats(call: string, device: number | undefined): MemoryStats {
  return rt(call).cachingAllocator.memoryStats(index(call, device));
}

export const openreg = Object.freeze({
  /** `torch.openreg.is_available()`: the backend is loaded and has devices. Starts nothing. */
  isAvailable: (): boolean => available(),
  /** `device_count()`. Starts nothing. */
  deviceCount: (): number => countDevices(),
  /** `is_initialized()`: a runtime is open (first use, `init()` or `Runtime.create`). Starts nothing. */
  isInitialized: (): boolean => openRuntime() !== undefined,
  /** `init(options?)`: starts the backend's runtime now. */
  init,
  /** `current_device()`. */
  currentDevice: (): number => rt('currentDevice').getDevice(),
  /** `set_device(i)`: the current device of this async context. */
  setDevice: (device: number): void => rt('setDevice').setDevice(device),
  /** `with torch.openreg.device(i):` — `fn` runs with device i current. */
  device: <T>(device: number, fn: () => T): T => rt('device').withDevice(device, fn),
  /** `synchronize(device)`: resolves when the device's work is done (within `options`). */
  synchronize: (device?: number, options?: WaitOptions): Promise<void> => {
    const r = rt('synchronize');
    return device === undefined ? r.deviceSynchronize(options) : r.withDevice(device, () => r.deviceSynchronize(options));
  },
  /** `synchronize`, blocking this thread (at most `options.timeoutMs`). */
  synchronizeSync: (device?: number, options?: Pick<WaitOptions, 'timeoutMs'>): void => {
    const r = rt('synchronizeSync');
    if (device === undefined) r.deviceSynchronizeSync(options);
    else r.withDevice(device, () => r.deviceSynchronizeSync(options));
  },
  /** `torch.openreg.Stream(priority=…)`: a new stream on the current device. */
  Stream: (options?: StreamOptions): Stream => rt('Stream').streamCreate(options),
  /** `torch.openreg.Event(enable_timing=…)`. */
  Event: (options?: EventOptions): Event => rt('Event').eventCreate(options),
  /** `current_stream(device)`. */
  currentStream: (device?: number): Stream => rt('currentStream').getCurrentStream(device),
  /** `default_stream(device)`. */
  defaultStream: (device?: number): Stream => rt('defaultStream').defaultStream(device),
  /** `with torch.openreg.stream(s):` — `fn` runs with `s` as its device's current stream. */
  stream: <T>(stream: Stream, fn: () => T): T => rt('stream').withStream(stream, fn),
  /** `memory_allocated(device)`: bytes of tensors alive now. */
  memoryAllocated: (device?: number): number => stats('memoryAllocated', device).allocatedBytes.all.current,
  /** `max_memory_allocated(device)`: the peak since start or the last reset. */
  maxMemoryAllocated: (device?: number): number => stats('maxMemoryAllocated', device).allocatedBytes.all.peak,
  /** `memory_reserved(device)`: bytes the caching allocator holds. */
  memoryReserved: (device?: number): number => stats('memoryReserved', device).reservedBytes.all.current,
  /** `max_memory_reserved(device)`. */
  maxMemoryReserved: (device?: number): number => stats('maxMemoryReserved', device).reservedBytes.all.peak,
  /** `memory_stats(device)`. */
  memoryStats: (device?: number): MemoryStats => stats('memoryStats', device),
  /** `reset_peak_memory_stats(device)`. */
  resetPeakMemoryStats: (device?: number): void => rt('resetPeakMemoryStats').cachingAllocator.resetPeakMemoryStats(index('resetPeakMemoryStats', device)),
  /** `empty_cache()`: frees the cached blocks no tensor uses. */
  emptyCache: (): void => rt('emptyCache').cachingAllocator.emptyCache(),
  /** `manual_seed(seed)`: the current device's generator. */
  manualSeed: (seed: number | bigint): void => rt('manualSeed').manualSeed(seed),
  /** `manual_seed_all(seed)`: every device's generator. */
  manualSeedAll: (seed: number | bigint): void => rt('manualSeedAll').manualSeedAll(seed),
  /** `seed()`: a fresh random seed for the current device; returns it. */
  seed: (): bigint => rt('seed').seed(),
  /** `initial_seed()`. */
  initialSeed: (): bigint => rt('initialSeed').initialSeed(),
  /** `get_rng_state(device)`: a uint8 cpu tensor. */
  getRngState: (device?: number): Tensor => rngState(`openreg:${index('getRngState', device)}`),
  /** `set_rng_state(state, device)`. */
  setRngState: (state: Tensor | Uint8Array, device?: number): void => restoreRngState(state, `openreg:${index('setRngState', device)}`),
  /** `torch.openreg.amp`: autocast on openreg devices (float16 by default). */
  amp: Object.freeze({
    autocast: <T>(fn: () => T, options?: Omit<AutocastOptions, 'deviceType'>): T => {
      const o = requireOptions<Omit<AutocastOptions, 'deviceType'>>('amp.autocast', options, 'options', ['dtype', 'enabled', 'cacheEnabled']);
      return autocast({ ...o, deviceType: 'openreg' }, fn);
    },
    isAutocastEnabled: (): boolean => isAutocastEnabled('openreg'),
  }),
});

/**
 * `torch.accelerator` (PyTorch ≥ 2.6): the device-generic calls, answered by openreg, the
 * accelerator this package has.
 */
export const accelerator = Object.freeze({
  /** `is_available()`. Starts nothing. */
  isAvailable: (): boolean => available(),
  /** `current_accelerator()`: the device type, or undefined when none is available. */
  currentAccelerator: (): TensorDevice | undefined => (available() ? device('openreg') : undefined),
  /** `device_count()`. Starts nothing. */
  deviceCount: (): number => countDevices(),
  /** `current_device_index()`. */
  currentDeviceIndex: (): number => rt('currentDeviceIndex').getDevice(),
  /** `set_device_index(i)`. */
  setDeviceIndex: (index: number): void => rt('setDeviceIndex').setDevice(index),
  /** `current_stream(device)`. */
  currentStream: (device?: number): Stream => rt('currentStream').getCurrentStream(device),
  /** `synchronize(device)`. */
  synchronize: (device?: number, options?: WaitOptions): Promise<void> => openreg.synchronize(device, options),
});

import type { WasmMemory } from './wasm-memory.js';
import type { KernelSignature } from './kernel-abi.js';
import type { ScheduleFuzzOptions } from './schedule-fuzz.js';
import { DeviceStat } from './layout.js';

/** What a device worker is started with (its `workerData`). */
export interface DeviceWorkerInit {
  device: number;
  /** Every device's control block: workers wait on each other's streams. */
  controls: SharedArrayBuffer[];
  /** Every device's heap: peer copies run on one device's worker. */
  heaps: SharedArrayBuffer[];
  /** Every device's memory as the wasm memory its heap is: a worker instantiates its kernel module on its own. */
  memories: WasmMemory[];
  runtimeBlock: SharedArrayBuffer;
  hostPool: SharedArrayBuffer;
  /** This device's allocation table, for bounds-checking kernel views. */
  allocationOwner: SharedArrayBuffer;
  allocationSize: SharedArrayBuffer;
  allocationFreed: SharedArrayBuffer;
  /** This device's trace buffer (trace-format.ts). */
  traceBuffer: SharedArrayBuffer;
  /** The host watches kernel run times (kernelTimeoutMs): stamp KERNEL_STARTED_F64. */
  watchdog: boolean;
  /** Schedule fuzzing (Runtime.create({ schedule })): random choice among ready streams and random pauses. */
  schedule: ScheduleFuzzOptions | undefined;
}

/** Counters a device worker keeps. */
export interface DeviceWorkerStats {
  device: number;
  kernels: number;
  copies: number;
  bytesCopied: number;
  memsets: number;
  hostFunctions: number;
  eventsRecorded: number;
  commands: number;
  modules: number;
}

/**
 * The counters in a device's stats area (written by its worker, each before the completion
 * of the command it counts is published), as either thread reads them. `modules` is the
 * reader's to fill in.
 */
export function readDeviceStats(device: number, stats: Float64Array): Omit<DeviceWorkerStats, 'modules'> {
  return {
    device,
    kernels: stats[DeviceStat.KERNELS]!,
    copies: stats[DeviceStat.COPIES]!,
    bytesCopied: stats[DeviceStat.BYTES_COPIED]!,
    memsets: stats[DeviceStat.MEMSETS]!,
    hostFunctions: stats[DeviceStat.HOST_FUNCS]!,
    eventsRecorded: stats[DeviceStat.EVENTS_RECORDED]!,
    commands: stats[DeviceStat.COMMANDS]!,
  };
}

/** A module's function exports as a worker loaded them: names sorted; `signatures[i]` is names[i]'s, or null for an untyped kernel. */
export interface LoadedModule {
  readonly names: string[];
  readonly signatures: (KernelSignature | null)[];
}

/** The control plane of a device worker, called through comlink. */
export interface DeviceWorkerApi {
  /** Imports a module and returns its function exports, sorted by name, with the signature of each typed kernel among them. */
  loadModule(moduleId: number, url: string): Promise<LoadedModule>;
  /** Drops all pending work (device reset); the stream table is re-read. */
  reset(): void;
  stats(): DeviceWorkerStats;
  /** Stops the engine before the worker is terminated. */
  shutdown(): void;
  /** Starts, re-seeds or (undefined) stops schedule fuzzing. */
  setSchedule(schedule: ScheduleFuzzOptions | undefined): void;
}

/** Kernel ids: module id in the high bits, export index in the low 12. */
export const KERNEL_INDEX_BITS = 12;
export const MAX_MODULE_EXPORTS = 1 << KERNEL_INDEX_BITS;

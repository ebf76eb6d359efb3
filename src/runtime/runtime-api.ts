import type { StreamPosition } from '../device/stream-queue.js';
import type { LaunchArgs, Params } from '../protocol/kernel-abi.js';
import type { DevicePtr } from '../protocol/pointer.js';
import type { CallCorrelation } from './call-correlation.js';
import type { Stream } from './handles.js';
import type { Kernel } from './kernel-module.js';
import type { PointerAttributes } from './memory-service.js';
import type { RuntimeEvents, RuntimeObserver } from './observer.js';

/** The public calls the integration layer builds on (the `Runtime` facade implements them). */
export interface RuntimeApi {
  readonly closed: boolean;
  getDevice(): number;
  setDevice(device: number): void;
  exchangeDevice(device: number): number;
  withDevice<T>(device: number, fn: () => T): T;
  getCurrentStream(device?: number): Stream;
  setCurrentStream(stream: Stream): void;
  defaultStream(device?: number): Stream;
  malloc(size: number): DevicePtr;
  free(ptr: DevicePtr): void;
  memGetInfo(): { free: number; total: number };
  mallocHost(size: number): Uint8Array;
  freeHost(view: ArrayBufferView): void;
  pointerGetAttributes(ptr: DevicePtr | ArrayBufferView): PointerAttributes;
}

/**
 * What the integration layer (guards, caching allocators, random fills, hooks, profiler)
 * needs beyond the public API: the runtime's internals, narrowed to these calls. Every
 * check takes the public call the user made, for its messages.
 */
export interface IntegrationContext {
  readonly api: RuntimeApi;
  /** The observer channel every integration piece subscribes to. */
  readonly observer: RuntimeObserver;
  readonly correlation: CallCorrelation;
  readonly deviceCount: number;
  /** Throws ERR_RUNTIME_CLOSED naming `call` once the runtime is closed. */
  open(call: string): void;
  /** A valid device index. */
  deviceIndex(call: string, device: unknown): number;
  /** `device`, or the current device when undefined. */
  deviceOrCurrent(call: string, device: unknown): number;
  /** A live stream of this runtime (a malformed, foreign, destroyed or reset one throws). */
  stream(call: string, stream: unknown): Stream;
  /** `stream`, or the current stream of the current device. */
  streamOrCurrent(call: string, stream: unknown): Stream;
  /**
   * A position that completes once the work enqueued on `stream` so far has (a marker is
   * enqueued); undefined when there is nothing to wait for: the stream is idle, destroyed or reset.
   */
  mark(call: string, stream: Stream): StreamPosition | undefined;
  /** Blocks until every position is reached (a sticky error of their devices is thrown). */
  synchronize(call: string, positions: readonly StreamPosition[]): void;
  /** True while the device has a running worker. */
  isLive(device: number): boolean;
  /** The device of [ptr, ptr + bytes), which must lie inside one live allocation. */
  deviceRange(call: string, ptr: unknown, bytes: number): number;
  pointerAttributes(call: string, ptr: unknown): PointerAttributes;
  isPinned(call: string, view: unknown): boolean;
  /**
   * Launches a built-in typed kernel under `call`'s name on `stream` (default: the device's
   * current stream), after checking the stream; `args()` runs last and returns undefined to
   * launch nothing. What the kernel writes and reads follows from its signature.
   */
  launch(call: string, kernel: Kernel, device: number, stream: unknown, args: () => LaunchArgs<Params> | undefined): void;
  /** Inside a host function launched while hostFunction was observed: that launch's event (the same object observers got). */
  currentHostFunction(): RuntimeEvents['hostFunction'] | undefined;
  /** The name of a loaded kernel. */
  kernelName(id: number): string;
  /** Each device's trace buffer, and a switch for the workers' tracing. */
  traceBuffers(): readonly SharedArrayBuffer[];
  setTracing(on: boolean): void;
}

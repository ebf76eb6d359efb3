import type { OpenRegError } from '../../errors/openreg-error.js';
import type { DevicePtr } from '../../protocol/pointer.js';
import type { RuntimeSubscriber, WaitCause } from '../../runtime/observer.js';

/** What the observable hooks report, one type per kind of runtime activity on a device. */
export interface HookEvents {
  allocation: { device: number; ptr: DevicePtr; size: number };
  free: { device: number; ptr: DevicePtr };
  kernelLaunch: { device: number; stream: number; kernel: string; argc: number };
  copy: { device: number; stream: number; bytes: number; kind: string; call: string };
  memset: { device: number; stream: number; bytes: number; call: string };
  hostFunction: { device: number; stream: number; call: string };
  /** A stream-ordered wait: explicit (event, stream) or implicit (legacy default stream, peer copy). */
  streamWait: { device: number; stream: number; onDevice: number; onStream: number; cause: WaitCause; call: string };
  eventRecord: { device: number; stream: number; event: number };
  synchronization: { device: number; call: string; stream?: number };
  error: { device: number; error: OpenRegError };
  /** A collective was enqueued; one event per rank, on the rank's device and stream. */
  collective: { device: number; stream: number; call: string; rank: number; ranks: number; bytes: number };
}

export type HookType = keyof HookEvents;
export type HookCallback<T extends HookType> = (event: HookEvents[T]) => void;

/** Removes a registration; also usable with `using`. Calling it twice is harmless. */
export interface HookDisposer extends Disposable {
  (): void;
}

/**
 * Each hook type as a subscriber of the runtime's observer channel: what it listens to
 * and how the channel's event becomes the hook's.
 */
export const HOOK_SOURCES: { readonly [T in HookType]: (deliver: (event: HookEvents[T]) => void) => RuntimeSubscriber } = {
  allocation: (deliver) => ({ allocation: (e) => deliver({ device: e.device, ptr: e.ptr, size: e.size }) }),
  free: (deliver) => ({ free: (e) => deliver({ device: e.device, ptr: e.ptr }) }),
  kernelLaunch: (deliver) => ({ kernelLaunch: (e) => deliver({ device: e.device, stream: e.stream.id, kernel: e.kernel, argc: e.argc }) }),
  copy: (deliver) => ({ copy: (e) => deliver({ device: e.device, stream: e.stream.id, bytes: e.bytes, kind: e.kind, call: e.call }) }),
  memset: (deliver) => ({ memset: (e) => deliver({ device: e.device, stream: e.stream.id, bytes: e.bytes, call: e.call }) }),
  hostFunction: (deliver) => ({ hostFunction: (e) => deliver({ device: e.device, stream: e.stream.id, call: e.call }) }),
  streamWait: (deliver) => ({
    // Hooks see the waits the device performs; orderings with nothing left to wait for are not waits.
    streamWait: (e) => e.enqueued && deliver({ device: e.device, stream: e.stream.id, onDevice: e.on.device, onStream: e.on.id, cause: e.cause, call: e.call }),
  }),
  eventRecord: (deliver) => ({ eventRecord: (e) => deliver({ device: e.device, stream: e.stream.id, event: e.event.id }) }),
  synchronization: (deliver) => ({
    synchronization: (e) => deliver(e.stream === undefined ? { device: e.device, call: e.call } : { device: e.device, call: e.call, stream: e.stream.id }),
  }),
  error: (deliver) => ({ error: (e) => deliver({ device: e.device, error: e.error }) }),
  collective: (deliver) => ({
    collective: (e) => e.streams.forEach((s, rank) => deliver({ device: s.device, stream: s.id, call: e.call, rank, ranks: e.streams.length, bytes: e.bytes })),
  }),
};

export const HOOK_TYPES = Object.keys(HOOK_SOURCES) as readonly HookType[];

import { invalidValue } from '../errors/errors.js';
import { requireFunction } from '../errors/validate.js';
import type { OpenRegError } from '../errors/openreg-error.js';
import type { MemcpyKind } from '../memory/memcpy-kind.js';
import type { KernelArg } from '../protocol/command.js';
import type { DevicePtr } from '../protocol/pointer.js';
import type { Event, Stream } from './handles.js';

/** Why a stream waits for another: an explicit call, or an ordering CUDA adds by itself. */
export type WaitCause = 'event' | 'stream' | 'legacyDefaultStream' | 'peerCopy';

/**
 * Everything the runtime does that an observer may need, one named event per kind (the
 * checklist is PyTorch's `torch/cuda/_gpu_trace.py`): enough for hooks, the profiler and a
 * happens-before analysis. `seq` is the position of the enqueued command in its stream.
 */
export interface RuntimeEvents {
  streamCreate: { device: number; stream: Stream; priority: number; nonBlocking: boolean };
  streamDestroy: { device: number; stream: Stream };
  /** `device` is -1 for a lazily bound event. */
  eventCreate: { device: number; event: Event };
  eventDestroy: { device: number; event: Event };
  /** `span`: the eventRecord call's span while timing is on (else 0). */
  eventRecord: { device: number; stream: Stream; seq: number; event: Event; span: number };
  /** Work on `stream` after `seq` waits until `on` has completed `onSeq`. */
  streamWait: {
    device: number;
    stream: Stream;
    seq: number;
    on: Stream;
    onSeq: number;
    cause: WaitCause;
    event: Event | undefined;
    call: string;
    /** Span of the call that enqueued the wait, while timing is on (else 0). */
    span: number;
    /** Span of the call that recorded the awaited work (event waits, while timing is on), else 0. */
    fromSpan: number;
    /** False when `on` had already completed `onSeq`: no wait command was needed, but the ordering holds (the sanitizer uses it). */
    enqueued: boolean;
  };
  /** Device memory from the runtime's allocator (malloc). */
  allocation: { device: number; ptr: DevicePtr; size: number; call: string };
  free: { device: number; ptr: DevicePtr; call: string };
  /** A block handed out or taken back by the caching device allocator. */
  cachingAllocation: { device: number; ptr: DevicePtr; size: number; stream: Stream };
  /** `streamUses`: the other streams recordStream marked (reuse waits for their work). */
  /** `call`: the public call that freed (cachingAllocator.free, or a tensor's dispose). */
  cachingFree: { device: number; ptr: DevicePtr; size: number; stream: Stream; streamUses: readonly Stream[]; call: string };
  hostAllocation: { view: Uint8Array; size: number; call: string };
  hostFree: { view: Uint8Array; call: string };
  /** `reads`/`writes`: the byte ranges the launch declared (undefined: undeclared, its pointer arguments count as read-write). */
  kernelLaunch: {
    device: number;
    stream: Stream;
    seq: number;
    kernel: string;
    argc: number;
    call: string;
    args: readonly KernelArg[];
    reads: readonly (readonly [DevicePtr, number])[] | undefined;
    writes: readonly (readonly [DevicePtr, number])[] | undefined;
  };
  /** `pinned`: byte offsets in the pinned pool of the pinned allocations the copy touches. */
  copy: {
    device: number;
    stream: Stream;
    seq: number;
    bytes: number;
    kind: MemcpyKind;
    call: string;
    src: DevicePtr | ArrayBufferView;
    dst: DevicePtr | ArrayBufferView;
    pinned: readonly number[];
  };
  memset: { device: number; stream: Stream; seq: number; ptr: DevicePtr; bytes: number; value: number; call: string };
  hostFunction: { device: number; stream: Stream; seq: number; call: string };
  /** A host synchronization begins (device-, stream- or event-wide). */
  synchronization: { device: number; call: string; stream: Stream | undefined; event: Event | undefined };
  /** It ended: times on the shared clock (0 unless someone asked for timing). A streamQuery or eventQuery that returned true is one too, untimed. */
  synchronized: { device: number; call: string; stream: Stream | undefined; event: Event | undefined; start: number; end: number };
  /** `deviceReset(device)` ran: the device's streams, events and memory are gone. */
  deviceReset: { device: number };
  /** A device's sticky error or loss, once per error. */
  error: { device: number; error: OpenRegError };
  /**
   * An API call as a host span: sent only while a subscriber asked for timing. `correlation`
   * is the user-visible id (shared by calls under one pushCorrelationId); `span` is unique to
   * the call, and the device commands it enqueued carry it.
   */
  apiCall: { call: string; device: number; stream: number; start: number; end: number; bytes: number; correlation: number; span: number };
  /**
   * A collective was enqueued: rank r on `streams[r]` of `devices[r]`, `bytes` per rank. While
   * timing is on, `start`/`end` time the enqueueing on the host and the API calls it made have
   * the spans `firstSpan` … `lastSpan` (their device commands carry them); else all four are 0.
   */
  collective: { call: string; devices: readonly number[]; streams: readonly Stream[]; bytes: number; start: number; end: number; firstSpan: number; lastSpan: number };
}

export type RuntimeEventType = keyof RuntimeEvents;
export type RuntimeEventListener<T extends RuntimeEventType> = (event: RuntimeEvents[T]) => void;
/** A subscriber: a listener for each event type it wants. */
export type RuntimeSubscriber = { [T in RuntimeEventType]?: RuntimeEventListener<T> };

export const RUNTIME_EVENT_TYPES: readonly RuntimeEventType[] = [
  'streamCreate',
  'streamDestroy',
  'eventCreate',
  'eventDestroy',
  'eventRecord',
  'streamWait',
  'allocation',
  'free',
  'cachingAllocation',
  'cachingFree',
  'hostAllocation',
  'hostFree',
  'kernelLaunch',
  'copy',
  'memset',
  'hostFunction',
  'synchronization',
  'synchronized',
  'deviceReset',
  'error',
  'apiCall',
  'collective',
];

type Listeners = { [T in RuntimeEventType]: RuntimeEventListener<T>[] | undefined };

/**
 * The runtime's one observer channel: hooks, the profiler and the caching host allocator
 * subscribe here instead of being called from each API method. The fast path costs one
 * property check: `listeners.kernelLaunch` is undefined while nobody listens for launches,
 * and no event object is built.
 */
export class RuntimeObserver {
  /** Per type: the listeners, or undefined when there are none. Lists are replaced, never mutated. */
  readonly listeners: Listeners = Object.fromEntries(RUNTIME_EVENT_TYPES.map((t) => [t, undefined])) as unknown as Listeners;
  /** True while a subscriber wants API calls timed and correlated (the profiler). */
  timing = false;
  #timingSubscribers = 0;
  readonly #onChange: () => void;

  /** `onChange` runs whenever the set of listened types changes. */
  constructor(onChange: () => void = () => undefined) {
    this.#onChange = onChange;
  }

  /** Adds a subscriber; returns its disposer. `timing` asks for `apiCall` spans and timed synchronizations. */
  /** Listeners whose errors propagate to the call that emitted (checkers), not warnings. */
  readonly #strict = new Set<(event: unknown) => void>();

  subscribe(subscriber: RuntimeSubscriber, options?: { timing?: boolean; strict?: boolean }, call = 'observe'): () => void {
    if (typeof subscriber !== 'object' || subscriber === null) throw invalidValue(call, 'subscriber must be an object of listeners by event type', subscriber);
    for (const [type, listener] of Object.entries(subscriber)) {
      if (!RUNTIME_EVENT_TYPES.includes(type as RuntimeEventType)) throw invalidValue(call, `unknown event type ${JSON.stringify(type)}; the types are ${RUNTIME_EVENT_TYPES.join(', ')}`);
      requireFunction(call, `the ${type} listener`, listener);
    }
    const types = RUNTIME_EVENT_TYPES.filter((t) => typeof subscriber[t] === 'function');
    const listeners = this.listeners as Record<RuntimeEventType, ((event: unknown) => void)[] | undefined>;
    for (const t of types) listeners[t] = [...(listeners[t] ?? []), subscriber[t] as (event: unknown) => void];
    if (options?.strict === true) for (const t of types) this.#strict.add(subscriber[t] as (event: unknown) => void);
    const timing = options?.timing === true;
    if (timing) this.timing = ++this.#timingSubscribers > 0;
    this.#onChange();
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      for (const t of types) {
        this.#strict.delete(subscriber[t] as (event: unknown) => void);
        const rest = listeners[t]!.filter((l) => l !== subscriber[t]);
        listeners[t] = rest.length > 0 ? rest : undefined;
      }
      if (timing) this.timing = --this.#timingSubscribers > 0;
      this.#onChange();
    };
  }

  /**
   * Delivers `event` to each listener of `type`, in subscription order. A listener that
   * throws is reported as a process warning (OPENREG_HOOK_ERROR) and stops nothing.
   */
  emit<T extends RuntimeEventType>(type: T, event: RuntimeEvents[T]): void {
    const list = this.listeners[type];
    if (list === undefined) return;
    for (const listener of list) {
      try {
        listener(event);
      } catch (error) {
        // A checker's verdict (the stream sanitizer's ERR_DATA_RACE) is the caller's error.
        if (this.#strict.has(listener as (event: unknown) => void)) throw error;
        const where = 'device' in event ? ` on device ${(event as { device: number }).device}` : '';
        process.emitWarning(`openreg: a ${type} listener${where} threw: ${error instanceof Error ? error.message : String(error)}`, {
          code: 'OPENREG_HOOK_ERROR',
          detail: error instanceof Error ? error.stack : undefined,
        });
      }
    }
  }
}

import { AsyncLocalStorage } from 'node:async_hooks';
import type { Stream } from './handles.js';

interface DeviceScope {
  device: number;
  /** Current stream per device; a missing entry means that device's default stream. */
  streams: (Stream | undefined)[];
}

/**
 * The current device and current streams, per async context. OpenReg keeps them
 * thread-local; the JS analogue of a host thread is an async context. `run` opens a
 * scope (the guard) whose changes never leak out; outside every scope the runtime-wide
 * defaults apply.
 */
export class CurrentDevice {
  readonly #storage = new AsyncLocalStorage<DeviceScope>();
  readonly #root: DeviceScope = { device: 0, streams: [] };

  get(): number {
    return (this.#storage.getStore() ?? this.#root).device;
  }

  set(device: number): void {
    (this.#storage.getStore() ?? this.#root).device = device;
  }

  /** The current stream of `device`, or undefined for its default stream. */
  stream(device: number): Stream | undefined {
    return (this.#storage.getStore() ?? this.#root).streams[device];
  }

  setStream(device: number, stream: Stream | undefined): void {
    (this.#storage.getStore() ?? this.#root).streams[device] = stream;
  }

  /** Runs `fn` in a new scope with current device `device` (and, optionally, a current stream for it). */
  run<T>(device: number, fn: () => T, stream?: Stream): T {
    const parent = this.#storage.getStore() ?? this.#root;
    const streams = parent.streams.slice();
    if (stream !== undefined) streams[device] = stream;
    return this.#storage.run({ device, streams }, fn);
  }
}

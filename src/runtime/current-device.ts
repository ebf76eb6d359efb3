import { AsyncLocalStorage } from 'node:async_hooks';

interface DeviceScope {
  device: number;
}

/**
 * The current device, per async context: OpenReg keeps it thread-local; the JS analogue
 * of a host thread is an async context. `run` opens a scope (the device guard) whose
 * changes never leak out; outside every scope the runtime-wide default applies.
 */
export class CurrentDevice {
  readonly #storage = new AsyncLocalStorage<DeviceScope>();
  readonly #root: DeviceScope = { device: 0 };

  get(): number {
    return (this.#storage.getStore() ?? this.#root).device;
  }

  set(device: number): void {
    (this.#storage.getStore() ?? this.#root).device = device;
  }

  run<T>(device: number, fn: () => T): T {
    return this.#storage.run({ device }, fn);
  }
}

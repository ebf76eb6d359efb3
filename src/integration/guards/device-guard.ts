import type { RuntimeApi } from '../../runtime/runtime-api.js';

/**
 * Sets the current device for a block and restores the previous one when disposed
 * (`c10::DeviceGuard`): `using guard = rt.deviceGuard(1);`. It changes the current
 * scope, like setDevice; for isolation between concurrent async tasks use withDevice.
 */
export class DeviceGuard implements Disposable {
  readonly originalDevice: number;
  readonly #runtime: RuntimeApi;
  #active = true;

  /** @internal use rt.deviceGuard(device) */
  constructor(runtime: RuntimeApi, device: number) {
    this.#runtime = runtime;
    this.originalDevice = runtime.exchangeDevice(device);
  }

  get currentDevice(): number {
    return this.#runtime.getDevice();
  }

  /** Switches the guarded device; disposal still restores the original. */
  setDevice(device: number): void {
    this.#runtime.setDevice(device);
  }

  [Symbol.dispose](): void {
    if (!this.#active) return;
    this.#active = false;
    if (!this.#runtime.closed) this.#runtime.setDevice(this.originalDevice);
  }
}

/**
 * A device guard that may hold no device (`c10::OptionalDeviceGuard`): constructed with
 * `undefined` it does nothing until `setDevice`, and restores only what it changed.
 */
export class OptionalDeviceGuard implements Disposable {
  #original: number | undefined;
  readonly #runtime: RuntimeApi;

  /** @internal use rt.optionalDeviceGuard(device?) */
  constructor(runtime: RuntimeApi, device?: number | null) {
    this.#runtime = runtime;
    if (device !== undefined && device !== null) this.setDevice(device);
  }

  /** The device current before the guard first set one, if it has. */
  get originalDevice(): number | undefined {
    return this.#original;
  }

  get currentDevice(): number | undefined {
    return this.#original === undefined ? undefined : this.#runtime.getDevice();
  }

  setDevice(device: number): void {
    const previous = this.#runtime.exchangeDevice(device);
    this.#original ??= previous;
  }

  [Symbol.dispose](): void {
    const original = this.#original;
    this.#original = undefined;
    if (original !== undefined && !this.#runtime.closed) this.#runtime.setDevice(original);
  }
}

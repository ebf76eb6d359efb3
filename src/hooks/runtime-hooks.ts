import type { CachingHostAllocator } from '../allocator/caching-host-allocator.js';
import { invalidValue } from '../errors/errors.js';
import type { DevicePtr } from '../protocol/pointer.js';
import type { Generator } from '../random/generator.js';
import type { Runtime } from '../runtime/runtime.js';
import { type HookCallback, type HookDisposer, HOOK_TYPES, type HookType } from './hook-events.js';

/** What the hooks need of the runtime beyond its public API. */
export interface HookHost {
  readonly runtime: Runtime;
  /** The device's hook registry, created on first registration. */
  deviceHooks(device: number): { add<T extends HookType>(type: T, callback: HookCallback<T>): () => void };
  isLive(device: number): boolean;
  deviceOfPointer(ptr: DevicePtr): number;
}

/**
 * OpenReg's hooks interface, both sides: capabilities a framework asks the backend for
 * (pinned allocator, isPinnedPtr, generators, primary context, device from pointer), and
 * per-device registries of callbacks observing the runtime.
 */
export class RuntimeHooks {
  readonly #host: HookHost;

  /** @internal use rt.hooks */
  constructor(host: HookHost) {
    this.#host = host;
  }

  getPinnedMemoryAllocator(): CachingHostAllocator {
    return this.#host.runtime.hostAllocator;
  }

  /** True for pinned memory, including views inside a pinned allocation. */
  isPinnedPtr(view: ArrayBufferView): boolean {
    return this.#host.runtime.isPinned(view);
  }

  getDefaultGenerator(device: number): Generator {
    return this.#host.runtime.defaultGenerator(device);
  }

  getNewGenerator(device: number): Generator {
    return this.#host.runtime.newGenerator(device);
  }

  /** True while the device has a running context: every device gets one at Runtime.create; a lost one has none until reset. */
  hasPrimaryContext(device: number): boolean {
    this.#host.runtime.defaultStream(device); // validates the index
    return this.#host.isLive(device);
  }

  /** The device owning a device pointer (interior pointers included). */
  getDeviceFromPtr(ptr: DevicePtr): number {
    const device = this.#host.deviceOfPointer(ptr);
    if (device < 0) throw invalidValue('getDeviceFromPtr', 'not a live device pointer', ptr);
    return device;
  }

  /** Registers `callback` for `type` events of `device`; returns its disposer. */
  on<T extends HookType>(device: number, type: T, callback: HookCallback<T>): HookDisposer {
    this.#host.runtime.defaultStream(device); // validates the index
    if (!HOOK_TYPES.includes(type)) throw invalidValue('hooks.on', `type must be one of ${HOOK_TYPES.join(', ')}`, type);
    if (typeof callback !== 'function') throw invalidValue('hooks.on', 'callback must be a function', callback);
    const remove = this.#host.deviceHooks(device).add(type, callback);
    const dispose = (() => remove()) as HookDisposer;
    dispose[Symbol.dispose] = remove;
    return dispose;
  }
}

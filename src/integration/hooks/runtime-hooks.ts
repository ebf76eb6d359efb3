import { invalidValue } from '../../errors/errors.js';
import { requireFunction, requireOneOf } from '../../errors/validate.js';
import type { DevicePtr } from '../../protocol/pointer.js';
import type { IntegrationContext } from '../../runtime/runtime-api.js';
import type { CachingHostAllocator } from '../allocators/caching-host-allocator.js';
import type { Generator } from '../random/generator.js';
import type { RandomFills } from '../random/random-fills.js';
import { DeviceHooks } from './device-hooks.js';
import { type HookCallback, type HookDisposer, HOOK_SOURCES, HOOK_TYPES, type HookType } from './hook-events.js';

/**
 * OpenReg's hooks interface, both sides: capabilities a framework asks the backend for
 * (pinned allocator, isPinnedPtr, generators, primary context, device from pointer), and
 * per-device registries of callbacks observing the runtime. A hook type subscribes to the
 * observer channel only while some device has a callback for it.
 */
export class RuntimeHooks {
  readonly #ctx: IntegrationContext;
  readonly #random: RandomFills;
  readonly #hostAllocator: () => CachingHostAllocator;
  readonly #devices: DeviceHooks[];
  readonly #subscriptions = new Map<HookType, { callbacks: number; unsubscribe: () => void }>();

  /** @internal use rt.hooks */
  constructor(ctx: IntegrationContext, random: RandomFills, hostAllocator: () => CachingHostAllocator) {
    this.#ctx = ctx;
    this.#random = random;
    this.#hostAllocator = hostAllocator;
    this.#devices = Array.from({ length: ctx.deviceCount }, () => new DeviceHooks());
  }

  getPinnedMemoryAllocator(): CachingHostAllocator {
    this.#ctx.open('hooks.getPinnedMemoryAllocator');
    return this.#hostAllocator();
  }

  /** True for pinned memory, including views inside a pinned allocation. */
  isPinnedPtr(view: ArrayBufferView): boolean {
    return this.#ctx.isPinned('hooks.isPinnedPtr', view);
  }

  getDefaultGenerator(device: number): Generator {
    return this.#random.defaultGenerator(this.#ctx.deviceIndex('hooks.getDefaultGenerator', device));
  }

  getNewGenerator(device: number): Generator {
    return this.#random.newGenerator(this.#ctx.deviceIndex('hooks.getNewGenerator', device));
  }

  /** True while the device has a running context: every device gets one at Runtime.create; a lost one has none until reset. */
  hasPrimaryContext(device: number): boolean {
    return this.#ctx.isLive(this.#ctx.deviceIndex('hooks.hasPrimaryContext', device));
  }

  /** The device owning a device pointer (interior pointers included). */
  getDeviceFromPtr(ptr: DevicePtr): number {
    const call = 'hooks.getDeviceFromPtr';
    const attributes = this.#ctx.pointerAttributes(call, ptr);
    if (attributes.type !== 'device') throw invalidValue(call, 'not a live device pointer', ptr);
    return attributes.device;
  }

  /** Registers `callback` for `type` events of `device`; returns its disposer. */
  on<T extends HookType>(device: number, type: T, callback: HookCallback<T>): HookDisposer {
    const call = 'hooks.on';
    const d = this.#ctx.deviceIndex(call, device);
    requireOneOf(call, 'type', type, HOOK_TYPES);
    requireFunction(call, 'callback', callback);
    const remove = this.#devices[d]!.add(type, callback);
    this.#retain(type);
    let active = true;
    const dispose = (() => {
      if (!active) return;
      active = false;
      remove();
      this.#release(type);
    }) as HookDisposer;
    dispose[Symbol.dispose] = dispose;
    return dispose;
  }

  #retain(type: HookType): void {
    const entry = this.#subscriptions.get(type);
    if (entry !== undefined) {
      entry.callbacks++;
      return;
    }
    const deliver = (event: { device: number }) => this.#devices[event.device]?.emit(type, event as never);
    this.#subscriptions.set(type, { callbacks: 1, unsubscribe: this.#ctx.observer.subscribe(HOOK_SOURCES[type](deliver)) });
  }

  #release(type: HookType): void {
    const entry = this.#subscriptions.get(type)!;
    if (--entry.callbacks > 0) return;
    entry.unsubscribe();
    this.#subscriptions.delete(type);
  }
}

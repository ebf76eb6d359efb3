import { invalidValue, openRegError } from '../errors/errors.js';
import { requireInteger } from '../errors/validate.js';
import { sharedClockMs } from '../protocol/clock.js';
import { type DevicePtr, deviceBase, deviceOfPointer, heapOffset } from '../protocol/pointer.js';
import type { RuntimeCore } from './runtime-core.js';
import { FaultInjector } from './fault-injector.js';

/** Result of `pointerGetAttributes` (`cudaPointerAttributes`). */
export interface PointerAttributes {
  type: 'device' | 'host' | 'unregistered';
  /** Owning device; -1 when unregistered. */
  device: number;
  /** Start of the allocation: a DevicePtr for device memory, a view of the whole allocation for pinned memory. */
  basePointer: DevicePtr | Uint8Array | null;
  /** Size of the allocation in bytes (0 when unregistered). */
  size: number;
}

const UNREGISTERED: PointerAttributes = Object.freeze({ type: 'unregistered', device: -1, basePointer: null, size: 0 });

/** Device and pinned host memory: allocation, release with stream-ordered reuse, pointer queries. */
export class MemoryService {
  readonly #core: RuntimeCore;

  /** @internal */
  constructor(core: RuntimeCore) {
    this.#core = core;
  }

  malloc(size: unknown): DevicePtr {
    const call = 'malloc';
    const core = this.#core;
    const start = core.observer.timing ? sharedClockMs() : 0;
    const device = core.currentDevice(call);
    const n = requireInteger(call, 'size', size, 1);
    if (core.faults.take(device.index, 'malloc') !== undefined) throw FaultInjector.outOfMemory(call, device.index, n);
    let offset = device.memory.allocate(n);
    if (offset < 0 && device.memory.hasPendingReleases) {
      // cudaFree would have synchronized: wait for the deferred frees, then retry.
      core.waiter.waitSync(call, core.devices, () => {
        device.throwIfFailed(call);
        device.memory.collect();
        return !device.memory.hasPendingReleases;
      });
      offset = device.memory.allocate(n);
    }
    if (offset < 0) {
      const { ranges } = device.memory;
      throw openRegError(
        'outOfDeviceMemory',
        { call, bytes: n, device: device.index, free: ranges.freeBytes, largest: ranges.largestFreeRange, total: ranges.capacity },
        device.index,
      );
    }
    const ptr = deviceBase(device.index) + offset;
    if (core.observer.listeners.allocation !== undefined) core.observer.emit('allocation', { device: device.index, ptr, size: n, call });
    core.hostSpan(call, device.index, start, n);
    return ptr;
  }

  free(ptr: unknown): void {
    const call = 'free';
    const core = this.#core;
    const start = core.observer.timing ? sharedClockMs() : 0;
    core.open(call);
    if (ptr === 0) return;
    if (typeof ptr !== 'number') throw invalidValue(call, 'ptr must be a DevicePtr', ptr);
    const d = deviceOfPointer(ptr, core.devices.length);
    if (d < 0) throw invalidValue(call, 'not a device pointer', ptr);
    const device = core.devices[d]!;
    device.throwIfFailed(call);
    const offset = heapOffset(ptr, d);
    if (!device.memory.free(offset, core.memoryFence(device))) {
      const interior = device.memory.find(offset, 1) >= 0;
      throw invalidValue(call, interior ? 'not the start of an allocation (interior pointer)' : `no live allocation at this address on device ${d} (unknown or already freed)`, ptr);
    }
    if (core.observer.listeners.free !== undefined) core.observer.emit('free', { device: d, ptr, call });
    core.hostSpan(call, d, start);
  }

  mallocHost(size: unknown): Uint8Array {
    const call = 'mallocHost';
    const core = this.#core;
    core.open(call);
    const n = requireInteger(call, 'size', size, 1);
    const pinned = core.host.pinned;
    let view = core.host.allocate(n, core.current.get());
    if (view === undefined && pinned.hasPendingReleases) {
      core.waiter.waitSync(call, core.devices, () => {
        pinned.collect();
        return !pinned.hasPendingReleases;
      });
      view = core.host.allocate(n, core.current.get());
    }
    if (view === undefined) throw openRegError('outOfPinnedMemory', { call, bytes: n, free: pinned.ranges.freeBytes, total: pinned.ranges.capacity });
    if (core.observer.listeners.hostAllocation !== undefined) core.observer.emit('hostAllocation', { view, size: n, call });
    return view;
  }

  freeHost(view: unknown): void {
    const call = 'freeHost';
    const core = this.#core;
    core.open(call);
    if (!ArrayBuffer.isView(view)) throw invalidValue(call, 'view must be a view returned by mallocHost', view);
    if (!core.host.free(view, core.allWorkFence())) {
      const interior = core.host.allocationOf(view) !== undefined;
      throw invalidValue(call, interior ? 'not the start of a pinned allocation (interior view)' : 'not a live pinned allocation (unknown or already freed)', view);
    }
    if (core.observer.listeners.hostFree !== undefined) core.observer.emit('hostFree', { view: view as Uint8Array, call });
  }

  isPinned(view: unknown, call = 'isPinned'): boolean {
    this.#core.open(call);
    if (!ArrayBuffer.isView(view)) throw invalidValue(call, 'view must be an ArrayBufferView', view);
    return this.#core.host.isPinned(view);
  }

  pointerGetAttributes(ptr: unknown, call = 'pointerGetAttributes'): PointerAttributes {
    const core = this.#core;
    core.open(call);
    if (typeof ptr === 'number') {
      const d = deviceOfPointer(ptr, core.devices.length);
      const memory = d >= 0 ? core.devices[d]!.memory : undefined;
      const base = memory?.find(heapOffset(ptr, d), 1) ?? -1;
      if (base >= 0) return { type: 'device', device: d, basePointer: deviceBase(d) + base, size: memory!.sizeOf(base) };
      return { ...UNREGISTERED };
    }
    if (ArrayBuffer.isView(ptr)) {
      const pinned = core.host.allocationOf(ptr);
      if (pinned !== undefined) return { type: 'host', device: pinned.device, basePointer: pinned.base, size: pinned.base.byteLength };
      return { ...UNREGISTERED };
    }
    throw invalidValue(call, 'ptr must be a DevicePtr or an ArrayBufferView', ptr);
  }

  memGetInfo(call = 'memGetInfo'): { free: number; total: number } {
    const device = this.#core.currentDevice(call);
    device.memory.collect();
    return { free: device.memory.ranges.freeBytes, total: device.memory.ranges.capacity };
  }
}

import { invalidValue } from '../errors/errors.js';
import { requireFunction, requireOptions } from '../errors/validate.js';
import { addBackendKey } from '../dispatch/dispatcher.js';
import type { Runtime } from '../api/runtime.js';

/**
 * What a device backend tells the tensor layer about its device type (PyTorch's
 * PrivateUse1 hooks): how many devices there are, which is current, and where its ops run.
 */
export interface DeviceTypeHooks<E = unknown> {
  deviceCount(): number;
  /** The device a bare type name (`'openreg'`) means now. */
  currentDevice(): number;
  /**
   * The backend interface of one device (a BackendExecutor: the ops layer defines it, the
   * tensor layer only passes it on); for a runtime-backed type, `runtime` is the device's.
   */
  executor(index: number, runtime?: Runtime): E;
  /** For a type whose devices belong to a Runtime (openreg): the runtime a device name without one means (started on first use). */
  runtime?(call: string): Runtime;
}

const types = new Map<string, DeviceTypeHooks | undefined>([
  ['cpu', undefined],
  ['meta', undefined],
]);

/**
 * Registers a device type of a backend (`registerDeviceType('openreg', hooks)`): its name
 * becomes a device (`'openreg:1'`) and a dispatch key. Returns false if it was registered already.
 */
export function registerDeviceType(name: string, hooks: DeviceTypeHooks): boolean {
  const call = 'registerDeviceType';
  if (typeof name !== 'string' || !/^[a-z][a-z0-9_]*$/.test(name)) throw invalidValue(call, 'name must be a lower-case identifier such as openreg', name);
  if (name === 'cpu' || name === 'meta') throw invalidValue(call, `${name} is built in`, name);
  const h = requireOptions<DeviceTypeHooks>(call, hooks);
  const entry = {
    deviceCount: requireFunction<DeviceTypeHooks['deviceCount']>(call, 'hooks.deviceCount', h.deviceCount),
    currentDevice: requireFunction<DeviceTypeHooks['currentDevice']>(call, 'hooks.currentDevice', h.currentDevice),
    executor: requireFunction<DeviceTypeHooks['executor']>(call, 'hooks.executor', h.executor),
    runtime: h.runtime === undefined ? undefined : requireFunction<NonNullable<DeviceTypeHooks['runtime']>>(call, 'hooks.runtime', h.runtime),
  };
  if (types.has(name)) return false;
  types.set(name, entry);
  addBackendKey(name);
  return true;
}

/** The registered device types, built-in ones first. */
export function deviceTypes(): string[] {
  return [...types.keys()];
}

export function isDeviceType(name: string): boolean {
  return types.has(name);
}

/** A backend device type's hooks (undefined for cpu and meta). */
export function deviceTypeHooks(name: string): DeviceTypeHooks | undefined {
  return types.get(name);
}

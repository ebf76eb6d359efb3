import { openRegError, invalidValue } from '../errors/errors.js';
import { Runtime } from '../api/runtime.js';
import { deviceTypeHooks, deviceTypes, isDeviceType } from './device-types.js';

/** The kinds of device a tensor can live on: `cpu`, `meta` (shapes and dtypes, no data), and each registered backend's (`openreg`). */
export type DeviceType = string;

/**
 * A device as a framework names it (`torch.device`): a type and, for a backend's devices, an
 * index. An `openreg` device also belongs to a runtime: the device of a tensor always names
 * it; `device('openreg:1')` means the backend's runtime (the one open longest) until a call
 * resolves it, and `device('openreg:1', rt)` names `rt`.
 */
export class TensorDevice {
  readonly type: DeviceType;
  /** The device index; undefined for `cpu` and `meta`, and for a bare backend type (`openreg`: the current device). */
  readonly index: number | undefined;
  /** The runtime whose device this is (openreg); undefined for cpu, meta and a name not resolved yet. */
  readonly runtime: Runtime | undefined;

  /** @internal use device() */
  constructor(type: DeviceType, index: number | undefined, runtime?: Runtime) {
    this.type = type;
    this.index = index;
    this.runtime = runtime;
    Object.freeze(this);
  }

  toString(): string {
    return this.index === undefined ? this.type : `${this.type}:${this.index}`;
  }

  /** Same type and index, and the same runtime where both name one. */
  equals(other: TensorDevice): boolean {
    if (!(other instanceof TensorDevice) || this.type !== other.type || this.index !== other.index) return false;
    return this.runtime === other.runtime || this.runtime === undefined || other.runtime === undefined;
  }
}

/** Anything a call accepts as a device: `'openreg:1'`, `'cpu'`, a TensorDevice, or an openreg index. */
export type DeviceLike = TensorDevice | string | number;

const CPU = new TensorDevice('cpu', undefined);
const META = new TensorDevice('meta', undefined);
const interned = new Map<string, TensorDevice>([
  ['cpu', CPU],
  ['meta', META],
]);

/**
 * Parses a device name: `device('openreg:1')`, `device('cpu')`, `device(0)` (openreg:0);
 * `device('openreg:1', rt)` is device 1 of runtime `rt` (tensors made on it live there).
 */
export function device(spec: DeviceLike, runtime?: Runtime): TensorDevice {
  if (arguments.length > 2) throw invalidValue('device', `takes at most 2 arguments, got ${arguments.length}`);
  const d = parseDevice(spec, 'device');
  if (runtime === undefined) return d;
  if (!(runtime instanceof Runtime)) throw invalidValue('device', 'runtime must be a Runtime', runtime);
  if (deviceTypeHooks(d.type)?.runtime === undefined) throw invalidValue('device', `${d.type} devices do not belong to a runtime`, String(spec));
  if (runtime.closed) throw openRegError('runtimeClosed', { call: 'device' });
  return bound(d.type, d.index ?? runtime.getDevice(), runtime);
}

const boundDevices = new WeakMap<Runtime, Map<string, TensorDevice>>();

/** @internal The interned device `type:index` of `runtime`. */
export function bound(type: DeviceType, index: number, runtime: Runtime): TensorDevice {
  let table = boundDevices.get(runtime);
  if (table === undefined) boundDevices.set(runtime, (table = new Map()));
  const key = `${type}:${index}`;
  let d = table.get(key);
  if (d === undefined) table.set(key, (d = new TensorDevice(type, index, runtime)));
  return d;
}

/** @internal device() with messages naming `call`, the public call that takes a device. */
export function parseDevice(spec: DeviceLike, call: string): TensorDevice {
  if (spec instanceof TensorDevice) {
    if (typeof spec.type !== 'string') throw invalidValue(call, 'a TensorDevice made by device() is needed (a malformed one)', spec);
    return spec;
  }
  if (typeof spec === 'number') return indexed(call, 'openreg', spec, spec);
  if (typeof spec !== 'string') throw invalidValue(call, "a device must be a name such as 'openreg:1' or 'cpu', a TensorDevice or an index", spec);
  // An index has no leading zeros ('openreg:01' is not a device name, as in PyTorch).
  const match = /^([a-z][a-z0-9_]*)(?::(0|[1-9]\d*))?$/.exec(spec);
  const type = match?.[1];
  if (match === null || type === undefined || !isDeviceType(type)) {
    throw invalidValue(call, `unknown device (the device types are ${deviceTypes().join(', ')}; a backend's type exists once its package is loaded)`, spec);
  }
  if (match[2] === undefined) return interned.get(type) ?? intern(new TensorDevice(type, undefined));
  // 'cpu:0' is the cpu, as in PyTorch; there is no other.
  if (type === 'cpu' || type === 'meta') {
    if (match[2] !== '0') throw invalidValue(call, `${type} has one device: ${type} or ${type}:0`, spec);
    return interned.get(type) ?? intern(new TensorDevice(type, undefined));
  }
  return indexed(call, type, Number(match[2]), spec);
}

function intern(d: TensorDevice): TensorDevice {
  const key = d.toString();
  const known = interned.get(key);
  if (known !== undefined) return known;
  interned.set(key, d);
  return d;
}

function indexed(call: string, type: string, index: number, spec: unknown): TensorDevice {
  if (!Number.isSafeInteger(index) || index < 0) throw invalidValue(call, 'a device index must be a non-negative integer', spec);
  if (!isDeviceType(type)) throw invalidValue(call, `unknown device type ${type} (is its backend loaded?)`, spec);
  return intern(new TensorDevice(type, index));
}

/** The backend's runtime, if one is open: the one open longest (what `'openreg:1'` means). Starts nothing. */
export function openRuntime(): Runtime | undefined {
  return Runtime.primary();
}

/** The backend's runtime: the one open longest, or one started now (lazy initialization, as CUDA's first use does). */
export function currentRuntime(call: string): Runtime {
  return Runtime.backend(call);
}

/**
 * A backend device with its index (the current device for a bare type name), checked against
 * the device count, and bound to its runtime (the backend's, unless the device names one).
 */
export function resolveDevice(call: string, spec: DeviceLike | undefined): TensorDevice {
  const d = spec === undefined ? CPU : parseDevice(spec, call);
  const hooks = deviceTypeHooks(d.type);
  if (hooks === undefined) return d;
  if (hooks.runtime !== undefined) {
    const rt = d.runtime ?? hooks.runtime(call);
    if (rt.closed) throw openRegError('runtimeClosed', { call });
    const index = d.index ?? rt.getDevice();
    if (index >= rt.getDeviceCount()) throw openRegError('invalidDevice', { call, count: rt.getDeviceCount(), value: String(spec) });
    return bound(d.type, index, rt);
  }
  const count = hooks.deviceCount();
  if (d.index === undefined) return indexed(call, d.type, hooks.currentDevice(), spec);
  if (d.index >= count) throw openRegError('invalidDevice', { call, count, value: String(spec) });
  return d;
}

/** True if openreg devices can be used (`torch.openreg.is_available()`): the backend is loaded and has devices. Starts nothing. */
export function isAvailable(): boolean {
  try {
    return isDeviceType('openreg') && Runtime.lazyDeviceCount('isAvailable') > 0;
  } catch {
    // Options that do not parse (OPENREG_DEVICE_COUNT=abc): not available, as PyTorch answers; first use reports why.
    return false;
  }
}

/** Devices of the backend's runtime, or of the one first use would start (`torch.openreg.device_count()`). Starts nothing. */
export function deviceCount(): number {
  return Runtime.lazyDeviceCount('deviceCount');
}

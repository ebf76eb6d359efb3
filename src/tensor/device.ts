import { openRegError, invalidValue } from '../errors/errors.js';
import { Runtime } from '../api/runtime.js';

/** The kinds of device a tensor can live on; `meta` holds shapes and dtypes, no data. */
export type DeviceType = 'cpu' | 'openreg' | 'meta';
const TYPES: readonly DeviceType[] = ['cpu', 'openreg', 'meta'];

/** A device as a framework names it (`torch.device`): a type and, for `openreg`, an index. */
export class TensorDevice {
  readonly type: DeviceType;
  /** The openreg device index; undefined for `cpu` and `meta`, and for a bare `openreg` (the current device). */
  readonly index: number | undefined;

  /** @internal use device() */
  constructor(type: DeviceType, index: number | undefined) {
    this.type = type;
    this.index = index;
    Object.freeze(this);
  }

  toString(): string {
    return this.index === undefined ? this.type : `${this.type}:${this.index}`;
  }

  equals(other: TensorDevice): boolean {
    return this.type === other.type && this.index === other.index;
  }
}

/** Anything a call accepts as a device: `'openreg:1'`, `'cpu'`, a TensorDevice, or an openreg index. */
export type DeviceLike = TensorDevice | string | number;

const CPU = new TensorDevice('cpu', undefined);
const META = new TensorDevice('meta', undefined);
const OPENREG: TensorDevice[] = [];

/** Parses a device name: `device('openreg:1')`, `device('cpu')`, `device(0)` (openreg:0). */
export function device(spec: DeviceLike, call = 'device'): TensorDevice {
  if (spec instanceof TensorDevice) return spec;
  if (typeof spec === 'number') return openreg(call, spec, spec);
  if (typeof spec !== 'string') throw invalidValue(call, "a device must be a name such as 'openreg:1' or 'cpu', a TensorDevice or an index", spec);
  const match = /^([a-z]+)(?::(\d+))?$/.exec(spec);
  const type = match?.[1] as DeviceType | undefined;
  if (match === null || type === undefined || !TYPES.includes(type)) {
    throw invalidValue(call, `unknown device (the device types are ${TYPES.join(', ')})`, spec);
  }
  if (match[2] === undefined) return type === 'cpu' ? CPU : type === 'meta' ? META : new TensorDevice('openreg', undefined);
  if (type !== 'openreg') throw invalidValue(call, `${type} takes no index`, spec);
  return openreg(call, Number(match[2]), spec);
}

function openreg(call: string, index: number, spec: unknown): TensorDevice {
  if (!Number.isSafeInteger(index) || index < 0) throw invalidValue(call, 'a device index must be a non-negative integer', spec);
  return (OPENREG[index] ??= new TensorDevice('openreg', index));
}

/** The runtime `openreg` tensors run on, if one is open: the newest. */
export function openRuntime(): Runtime | undefined {
  return Runtime.latest();
}

/** The runtime `openreg` tensors run on: the newest open one. */
export function currentRuntime(call: string): Runtime {
  const rt = Runtime.latest();
  if (rt === undefined) throw openRegError('invalidArgument', { call, problem: 'no openreg runtime is open (await Runtime.create() first)' });
  return rt;
}

/** `openreg` resolved to an index (the runtime's current device for a bare `openreg`), checked against the device count. */
export function resolveDevice(call: string, spec: DeviceLike | undefined): TensorDevice {
  const d = spec === undefined ? CPU : device(spec, call);
  if (d.type !== 'openreg') return d;
  const rt = currentRuntime(call);
  if (d.index === undefined) return openreg(call, rt.getDevice(), spec);
  if (d.index >= rt.getDeviceCount()) throw openRegError('invalidDevice', { call, count: rt.getDeviceCount(), value: String(spec) });
  return d;
}

/** True if an openreg runtime is open (`torch.openreg.is_available()`). */
export function isAvailable(): boolean {
  return Runtime.latest() !== undefined;
}

/** Devices of the open runtime (0 when none is open). */
export function deviceCount(): number {
  return Runtime.latest()?.getDeviceCount() ?? 0;
}

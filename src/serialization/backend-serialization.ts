import { invalidValue } from '../errors/errors.js';
import { requireFunction, requireOptions, requireArity } from '../errors/validate.js';
import { deviceTypes, isDeviceType } from '../tensor/device-types.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * What a backend adds to a saved tensor and checks on load (PyTorch's
 * `REGISTER_PRIVATEUSE1_SERIALIZATION`): string key-value pairs stored in the file's
 * `__metadata__` under the backend's namespace.
 */
export interface SerializationCallbacks {
  serialize(tensor: Tensor): Record<string, string>;
  /** Called with the loaded tensor and what serialize stored; throws to refuse the file. */
  deserialize(tensor: Tensor, metadata: Record<string, string>): void;
}

const registry = new Map<string, SerializationCallbacks>();

/** Registers the serialization callbacks of a device type (`'openreg'`); returns the disposer. */
export function registerSerialization(deviceType: string, callbacks: SerializationCallbacks): () => void {
  const call = 'registerSerialization';
  requireArity(call, arguments, 2);
  if (typeof deviceType !== 'string' || !/^[a-z][a-z0-9_]*$/.test(deviceType)) throw invalidValue(call, 'deviceType must be a device type name such as openreg', deviceType);
  // Callbacks for a type that does not exist (yet) would never run: a typo, refused here.
  if (!isDeviceType(deviceType) || deviceType === 'meta') {
    throw invalidValue(call, `deviceType must be a registered device type with data (${deviceTypes().filter((t) => t !== 'meta').join(', ')}); register the device type first`, deviceType);
  }
  if (callbacks === undefined) throw invalidValue(call, 'callbacks must be an object with serialize and deserialize', callbacks);
  const c = requireOptions<SerializationCallbacks>(call, callbacks, 'callbacks', ['serialize', 'deserialize']);
  const entry = { serialize: requireFunction<SerializationCallbacks['serialize']>(call, 'callbacks.serialize', c.serialize), deserialize: requireFunction<SerializationCallbacks['deserialize']>(call, 'callbacks.deserialize', c.deserialize) };
  if (registry.has(deviceType)) throw invalidValue(call, `${deviceType} already has serialization callbacks`);
  registry.set(deviceType, entry);
  return () => {
    if (registry.get(deviceType) === entry) registry.delete(deviceType);
  };
}

export function serializationOf(deviceType: string): SerializationCallbacks | undefined {
  return registry.get(deviceType);
}

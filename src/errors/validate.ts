import { invalidDevice, invalidValue } from './errors.js';

// One check per kind of argument. Each names the public call the user made (`call`) and
// the argument, and throws an OpenRegError with a stable code.

/** An option's value, or `fallback` when it was not given: null is a value, and gets checked. */
export function given<T>(value: T | undefined, fallback: T): T {
  return value === undefined ? fallback : value;
}

/** An integer in [min, max]. */
export function requireInteger(call: string, name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max !== Number.MAX_SAFE_INTEGER ? ` in [${min}, ${max}]` : min !== Number.MIN_SAFE_INTEGER ? ` >= ${min}` : '';
    throw invalidValue(call, `${name} must be an integer${range}`, value);
  }
  return value;
}

/** A finite number (or Infinity, if `infinite`), at least `min` if given. */
export function requireFinite(call: string, name: string, value: unknown, min = -Infinity, infinite = false): number {
  if (typeof value !== 'number' || Number.isNaN(value) || value < min || (!Number.isFinite(value) && !(infinite && value === Infinity))) {
    const what = infinite ? 'a number (Infinity allowed)' : 'a finite number';
    throw invalidValue(call, `${name} must be ${what}${min === -Infinity ? '' : ` >= ${min}`}`, value);
  }
  return value;
}

export function requireBoolean(call: string, name: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalidValue(call, `${name} must be a boolean`, value);
  return value;
}

export function requireFunction<F extends (...args: never[]) => unknown>(call: string, name: string, value: unknown): F {
  if (typeof value !== 'function') throw invalidValue(call, `${name} must be a function`, value);
  return value as F;
}

export function requireString(call: string, name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw invalidValue(call, `${name} must be a non-empty string`, value);
  return value;
}

/** An options bag: undefined (no options) or an object; with `known`, a key outside it is refused (a misspelt option is never ignored). */
export function requireOptions<T extends object>(call: string, options: unknown, name = 'options', known?: readonly string[]): Partial<T> {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw invalidValue(call, `${name} must be an object`, options);
  if (known !== undefined) {
    for (const key of Reflect.ownKeys(options)) {
      if (typeof key !== 'string' || !known.includes(key)) {
        throw invalidValue(call, `${name} has no option ${typeof key === 'string' ? JSON.stringify(key) : String(key)} (the options are ${known.join(', ') || 'none'})`);
      }
    }
  }
  return options as Partial<T>;
}

/** A device index in [0, count). */
export function requireDevice(call: string, device: unknown, count: number): number {
  if (typeof device !== 'number' || !Number.isInteger(device) || device < 0 || device >= count) throw invalidDevice(call, device, count);
  return device;
}

/** One of a fixed set of values. */
export function requireOneOf<T>(call: string, name: string, value: unknown, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) throw invalidValue(call, `${name} must be one of ${allowed.join(', ')}`, value);
  return value as T;
}

/** Refuses arguments past the last parameter (a misplaced options bag is a mistake, not a no-op). */
export function requireArity(call: string, args: { readonly length: number }, max: number): void {
  if (args.length > max) throw invalidValue(call, `takes at most ${max} argument${max === 1 ? '' : 's'}, got ${args.length}`);
}

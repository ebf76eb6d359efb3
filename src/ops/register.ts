import type { BackendKey } from '../dispatch/dispatcher.js';
import { dispatcher } from '../dispatch/registry.js';
import { TensorDevice } from '../tensor/device.js';
import { Tensor, tensorsIn } from '../tensor/tensor.js';
import { DeviceExecutor, type Executor, executorFor } from './executor.js';

/** A builtin op's implementation: the same code on every backend, through that backend's executor. */
export type OpImpl = (ex: Executor, ...args: never[]) => unknown;

/** The executor an op call runs on: the device of its first tensor argument, or the TensorDevice argument of a factory. */
export function executorOf(call: string, args: readonly unknown[]): Executor {
  const first = tensorsIn(args)[0];
  if (first !== undefined) {
    const storage = first.storage(call);
    if (first.device.type === 'openreg') return new DeviceExecutor(storage.runtime!, first.device);
    return executorFor(call, first.device);
  }
  const device = args.find((a): a is TensorDevice => a instanceof TensorDevice) ?? findOption(args);
  return executorFor(call, device ?? new TensorDevice('cpu', undefined));
}

function findOption(args: readonly unknown[]): TensorDevice | undefined {
  for (const a of args) {
    if (a !== null && typeof a === 'object' && !(a instanceof Tensor) && (a as { device?: unknown }).device instanceof TensorDevice) return (a as { device: TensorDevice }).device;
  }
  return undefined;
}

/** The names of the ops a backend implements natively (for the op table and the docs). */
export const nativeOps: Record<BackendKey, Set<string>> = { openreg: new Set(), cpu: new Set(), meta: new Set() };

/**
 * Defines `schema` and registers `impl` on `backends` (by default every one: openreg, cpu
 * and meta, which is what makes the meta device work for every builtin op).
 */
export function defineBuiltin(schema: string, impl: OpImpl, backends: readonly BackendKey[] = ['openreg', 'cpu', 'meta']): string {
  const name = dispatcher.define('defineBuiltin', schema);
  for (const key of backends) implOn(name, key, impl);
  return name;
}

/** Registers `impl` for an op already defined, on one backend. */
export function implOn(name: string, key: BackendKey, impl: OpImpl): void {
  nativeOps[key].add(name);
  const fn = impl as (ex: Executor, ...args: unknown[]) => unknown;
  dispatcher.impl('defineBuiltin', name, key, (_next, ...args) => fn(executorOf(name, args), ...args));
}

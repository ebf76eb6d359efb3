import type { BackendKey } from '../dispatch/dispatcher.js';
import { dispatcher } from '../dispatch/registry.js';
import { TensorDevice, device } from '../tensor/device.js';
import { tensorsIn } from '../tensor/tensor.js';
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
  return executorFor(call, args.find((a): a is TensorDevice => a instanceof TensorDevice) ?? device('cpu'));
}

/**
 * Defines `schema` and registers `impl` on `backends` (by default every one: openreg, cpu
 * and meta, which is what makes the meta device work for every builtin op).
 */
export function defineBuiltin(schema: string, impl: OpImpl, backends: readonly BackendKey[] = ['openreg', 'cpu', 'meta']): string {
  const name = dispatcher.define('defineBuiltin', schema);
  const fn = impl as (ex: Executor, ...args: unknown[]) => unknown;
  for (const key of backends) dispatcher.impl('defineBuiltin', name, key, (_next, ...args) => fn(executorOf(name, args), ...args));
  return name;
}

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
    // A tensor in a runtime's device memory runs on that runtime, whichever is newest.
    if (storage.runtime !== undefined) return new DeviceExecutor(storage.runtime, first.device);
    return executorFor(call, first.device);
  }
  return executorFor(call, args.find((a): a is TensorDevice => a instanceof TensorDevice) ?? device('cpu'));
}

/** `'device'` in a builtin's backends: every device backend gets it natively (implementBuiltins). */
export const DEVICE = 'device';

/** The builtins device backends implement natively, by op name. */
const deviceBuiltins = new Map<string, OpImpl>();

function register(name: string, key: BackendKey, impl: OpImpl): void {
  const fn = impl as (ex: Executor, ...args: unknown[]) => unknown;
  dispatcher.impl('defineBuiltin', name, key, (_next, ...args) => fn(executorOf(name, args), ...args));
}

/**
 * Defines `schema` and registers `impl` on `backends`: by default every one (`device` for the
 * device backends, cpu, meta), which is what makes the meta device work for every builtin op.
 */
export function defineBuiltin(schema: string, impl: OpImpl, backends: readonly BackendKey[] = [DEVICE, 'cpu', 'meta']): string {
  const name = dispatcher.define('defineBuiltin', schema);
  for (const key of backends) {
    if (key === DEVICE) deviceBuiltins.set(name, impl);
    else register(name, key, impl);
  }
  return name;
}

/**
 * Registers the native kernels of every builtin op for a device backend's key (what
 * openreg's own backend does when it loads); `except` are left to the backend (its
 * per-op fallbacks).
 */
export function implementBuiltins(key: BackendKey, except: readonly string[] = []): void {
  for (const [name, impl] of deviceBuiltins) if (!except.includes(name)) register(name, key, impl);
}

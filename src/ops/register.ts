import { type BackendKey, COMPOSITE, type OperatorKernel } from '../dispatch/dispatcher.js';
import { dispatcher } from '../dispatch/registry.js';
import { TensorDevice, device } from '../tensor/device.js';
import { firstTensorIn } from '../tensor/tensor.js';
import type { Stream } from '../runtime/handles.js';
import { DeviceExecutor } from './device-executor.js';
import type { Executor } from './executor.js';
import { executorFor } from './host-executors.js';

/** A builtin op's implementation: the same code on every backend, through that backend's executor. */
export type OpImpl = (ex: Executor, ...args: never[]) => unknown;

/** One executor per stream (an executor is the stream it launches on): made once, not per op. */
const deviceExecutors = new WeakMap<Stream, DeviceExecutor>();

/** The executor an op call runs on: the device of its first tensor argument, or the TensorDevice argument of a factory. */
export function executorOf(call: string, args: readonly unknown[]): Executor {
  const first = firstTensorIn(args);
  if (first !== undefined) {
    const storage = first.storage(call);
    // A tensor in a runtime's device memory runs on that runtime, whichever serves the backend.
    const runtime = storage.runtime;
    if (runtime !== undefined) {
      const stream = runtime.getCurrentStream(first.device.index!);
      let ex = deviceExecutors.get(stream);
      if (ex === undefined || ex.runtime !== runtime || ex.device.type !== first.device.type) deviceExecutors.set(stream, (ex = new DeviceExecutor(runtime, first.device, stream)));
      return ex;
    }
    return executorFor(call, first.device);
  }
  return executorFor(call, args.find((a): a is TensorDevice => a instanceof TensorDevice) ?? device('cpu'));
}

/** `'device'` in a builtin's backends: every device backend gets it natively (implementBuiltins). */
export const DEVICE = 'device';

/** The builtins device backends implement natively, by op name, as dispatcher kernels. */
const deviceBuiltins = new Map<string, OperatorKernel>();

function kernelOf(name: string, impl: OpImpl): OperatorKernel {
  const fn = impl as (ex: Executor, ...args: unknown[]) => unknown;
  return (_next, ...args) => fn(executorOf(name, args), ...args);
}

/**
 * Defines `schema` and registers `impl` on `backends`: by default every one (`device` for the
 * device backends, cpu, meta), which is what makes the meta device work for every builtin op.
 */
export function defineBuiltin(schema: string, impl: OpImpl, backends: readonly BackendKey[] = [DEVICE, 'cpu', 'meta']): string {
  const name = dispatcher.define('defineBuiltin', schema);
  const kernel = kernelOf(name, impl);
  for (const key of backends) {
    if (key === DEVICE) deviceBuiltins.set(name, kernel);
    else dispatcher.impl('defineBuiltin', name, key, kernel);
  }
  return name;
}

/**
 * Defines `schema` with a composite implementation (PyTorch's CompositeImplicitAutograd):
 * written with other ops, it runs on every backend and gets its gradient from theirs.
 */
export function defineComposite(schema: string, impl: (...args: never[]) => unknown): string {
  const name = dispatcher.define('defineComposite', schema);
  const fn = impl as (...args: unknown[]) => unknown;
  dispatcher.impl('defineComposite', name, COMPOSITE, (_next, ...args) => fn(...args));
  return name;
}

/**
 * Gives a device backend's key the native kernels of the builtin ops (what openreg's own
 * backend does when it loads), looked up at call time so builtins defined later are
 * covered too; `except` are left to the backend (its per-op fallbacks).
 */
export function implementBuiltins(key: BackendKey, except: readonly string[] = []): void {
  const skipped = new Set(except.map((n) => (n.includes('::') ? n : `aten::${n}`)));
  dispatcher.defaults('implementBuiltins', key, (name) => (skipped.has(name) ? undefined : deviceBuiltins.get(name)));
}

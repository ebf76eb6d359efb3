import { dispatcher } from '../dispatch/registry.js';
import type { Stream } from '../runtime/handles.js';
import { registerStub } from '../dispatch/stubs.js';
import { bound, currentRuntime } from '../tensor/device.js';
import { registerDeviceType } from '../tensor/device-types.js';
import type { Tensor } from '../tensor/tensor.js';
import { registerSerialization } from '../serialization/backend-serialization.js';
import { cpuFallback } from './cpu-fallback.js';
import { DeviceExecutor } from './device-executor.js';
import { absKernel } from './builtin/linalg.js';
import { executorOf, implementBuiltins } from './register.js';
import { DEFAULT_AUTOCAST_POLICY, registerAutocastPolicy } from './autocast.js';
import './builtins.js';

/**
 * openreg's own device backend, loaded as any backend package is (its package.json names
 * this module under `openreg.backend`): the `openreg` device type on the backend's
 * runtime (the one open longest), the builtin ops' native kernels, and the registration forms OpenReg shows — a
 * stub kernel, a per-op fallback, the global CPU fallback, a blocklist — plus its
 * serialization callbacks.
 */

/** The executor of each stream ops have run on (a stream's handle is one object per stream). */
const executors = new WeakMap<Stream, DeviceExecutor>();

/** Ops that fail on openreg rather than fall back to the CPU. */
export const OPENREG_BLOCKLIST = ['openreg::pin_memory'] as const;

/** openreg's serialization version and format number, checked on load. */
export const OPENREG_SERIALIZATION_VERSION = '1';
export const OPENREG_SERIALIZATION_FORMAT = '0';

/** Registers the openreg backend (idempotent): what autoload calls, and what to call by hand when autoload is off. */
export function register(): void {
  const fresh = registerDeviceType('openreg', {
    deviceCount: () => currentRuntime('openreg').getDeviceCount(),
    currentDevice: () => currentRuntime('openreg').getDevice(),
    executor: (index, runtime) => {
      const rt = runtime ?? currentRuntime('openreg');
      // One executor per stream, made once: an op asks for one on every call.
      const stream = rt.getCurrentStream(index);
      let executor = executors.get(stream);
      if (executor === undefined) executors.set(stream, (executor = new DeviceExecutor(rt, bound('openreg', index, rt), stream)));
      return executor;
    },
    runtime: (call) => currentRuntime(call),
  });
  if (!fresh) return;
  implementBuiltins('openreg');
  registerStub('abs_stub', 'openreg', (out: Tensor, self: Tensor) => absKernel(executorOf('abs', [out]), out, self));
  // Per-op fallback: hypot's forms (off the training path) are bound to the CPU fallback by name, as OpenReg binds sub.Tensor.
  for (const name of ['hypot', 'hypot_', 'hypot.out']) dispatcher.impl('openreg', name, 'openreg', (_next, ...args) => cpuFallback(dispatcher.schema('openreg', name), args));
  // Global fallback: every op with no openreg kernel runs on the CPU.
  dispatcher.fallback('openreg', 'openreg', (schema, _next, ...args) => cpuFallback(schema, args));
  for (const name of OPENREG_BLOCKLIST) dispatcher.block('openreg', name, 'openreg');
  registerAutocastPolicy('openreg', DEFAULT_AUTOCAST_POLICY, ['float16', 'bfloat16']);
  registerSerialization('openreg', {
    serialize: () => ({ version: OPENREG_SERIALIZATION_VERSION, format: OPENREG_SERIALIZATION_FORMAT }),
    deserialize: (tensor, metadata) => {
      if (metadata.version !== OPENREG_SERIALIZATION_VERSION || metadata.format !== OPENREG_SERIALIZATION_FORMAT) {
        throw new TypeError(
          `${tensor.device} tensors were saved with openreg serialization version ${metadata.version ?? '(none)'} format ${metadata.format ?? '(none)'}; this openreg reads version ${OPENREG_SERIALIZATION_VERSION} format ${OPENREG_SERIALIZATION_FORMAT}`,
        );
      }
    },
  });
}

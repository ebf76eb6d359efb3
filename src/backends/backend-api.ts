import { Runtime } from '../api/runtime.js';
import { dispatcher } from '../dispatch/registry.js';
import type { FallbackKernel } from '../dispatch/dispatcher.js';
import { registerStub } from '../dispatch/stubs.js';
import { invalidValue } from '../errors/errors.js';
import { requireDevice } from '../errors/validate.js';
import { TensorDevice, device } from '../tensor/device.js';
import { type DeviceTypeHooks, isDeviceType, registerDeviceType } from '../tensor/device-types.js';
import { Tensor } from '../tensor/tensor.js';
import { cpuFallback } from '../ops/cpu-fallback.js';
import { DeviceExecutor } from '../ops/device-executor.js';
import { CpuExecutor } from '../ops/host-executors.js';
import type { Executor as BackendExecutor } from '../ops/executor.js';
import { Library, callOp } from '../ops/library.js';
import { implementBuiltins } from '../ops/register.js';
import { registerSerialization } from '../serialization/backend-serialization.js';
import { registerAutocastPolicy } from '../ops/autocast.js';

/** A device type's hooks as a backend writes them: `executor(index)` returns that device's BackendExecutor. */
export type BackendDeviceHooks = DeviceTypeHooks<BackendExecutor>;

/**
 * What a backend package's `register(api)` receives: the framework's extension points (the
 * analogue of what a PrivateUse1 backend reaches in PyTorch's C++ and Python APIs). A backend
 * module imports nothing from openreg at run time; everything comes through here.
 */
export interface BackendApi {
  /** Makes `name` a device type (`'npu:0'`) and a dispatch key; hooks say how many devices and where ops run. */
  registerDeviceType(name: string, hooks: BackendDeviceHooks): boolean;
  /** The executor of a backend whose devices keep tensors in host memory and run kernels on the CPU pool. */
  hostExecutor(device: TensorDevice): BackendExecutor;
  /** The executor of a device of an openreg runtime, under the backend's device type. */
  runtimeExecutor(runtime: Runtime, device: TensorDevice): BackendExecutor;
  /** Registers every builtin op's native kernel for the backend's key (except the named ones). */
  implementBuiltins(key: string, except?: readonly string[]): void;
  /** The backend's global fallback (e.g. `api.cpuFallback`) for every op with no kernel of its own. */
  fallback(key: string, kernel: FallbackKernel): () => void;
  /** Runs an op on the CPU in stream order (for backends on an openreg runtime). */
  cpuFallback: FallbackKernel;
  /** Makes an op fail on the backend instead of falling back. */
  block(op: string, key: string): void;
  registerStub: typeof registerStub;
  registerSerialization: typeof registerSerialization;
  registerAutocastPolicy: typeof registerAutocastPolicy;
  Library: typeof Library;
  callOp: typeof callOp;
  device: typeof device;
  Tensor: typeof Tensor;
  Runtime: typeof Runtime;
}

/** An indexed device of a backend type (`npu:1`), as `api.device()` makes it. */
function requireBackendDevice(call: string, d: unknown): TensorDevice {
  if (!(d instanceof TensorDevice) || d.index === undefined || d.type === 'cpu' || d.type === 'meta') {
    throw invalidValue(call, "device must be an indexed device of a backend type, such as api.device('npu:0')", d);
  }
  return d;
}

export const backendApi: BackendApi = Object.freeze<BackendApi>({
  registerDeviceType,
  hostExecutor: (d: TensorDevice) => new CpuExecutor(requireBackendDevice('hostExecutor', d)),
  runtimeExecutor: (rt: Runtime, d: TensorDevice) => {
    const call = 'runtimeExecutor';
    if (!(rt instanceof Runtime)) throw invalidValue(call, 'runtime must be a Runtime', rt);
    const dev = requireBackendDevice(call, d);
    requireDevice(call, dev.index, rt.getDeviceCount());
    return new DeviceExecutor(rt, dev);
  },
  implementBuiltins: (key: string, except?: readonly string[]) => {
    const call = 'implementBuiltins';
    if (typeof key !== 'string' || !isDeviceType(key) || key === 'cpu' || key === 'meta') throw invalidValue(call, 'key must be a registered backend device type', key);
    if (except !== undefined && (!Array.isArray(except) || !except.every((n) => typeof n === 'string'))) throw invalidValue(call, 'except must be an array of op names', except);
    implementBuiltins(key, except);
  },
  fallback: (key: string, kernel: FallbackKernel) => dispatcher.fallback('fallback', key, kernel),
  cpuFallback: ((schema, _next, ...args) => cpuFallback(schema, args)) as FallbackKernel,
  block: (op: string, key: string) => dispatcher.block('block', op, key),
  registerStub,
  registerSerialization,
  registerAutocastPolicy,
  Library,
  callOp,
  device,
  Tensor,
  Runtime,
});

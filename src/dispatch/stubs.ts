import { invalidValue, openRegError } from '../errors/errors.js';
import { requireFunction, requireOneOf } from '../errors/validate.js';
import { type BackendKey, knownBackendKeys } from './dispatcher.js';

/** A stub's kernel: writes `out` from `inputs` (PyTorch's `DispatchStub`, which gets a TensorIterator). */
export type StubKernel = (out: never, ...inputs: never[]) => void;

const stubs = new Map<string, Map<BackendKey, StubKernel>>();

/** Stubs an op routes through (PyTorch's `DECLARE_DISPATCH`); only these take kernels. */
const declared = new Set<string>();

/** Declares stub `name`, which a generic op's kernel looks up with stubKernel. */
export function declareStub(name: string): void {
  declared.add(name);
}

// The builtin ops' stubs: `abs` routes through `abs.out` to abs_stub (ops/builtin/linalg.ts).
declareStub('abs_stub');

/**
 * Registers `kernel` as the `backend` implementation of stub `name` (PyTorch's
 * `REGISTER_PRIVATEUSE1_DISPATCH(abs_stub, &abs_kernel)`): a generic op such as `abs`
 * routes through its `out=` form to the stub of the backend it runs on. Returns the disposer.
 */
export function registerStub(name: string, backend: BackendKey, kernel: StubKernel): () => void {
  const call = 'registerStub';
  if (typeof name !== 'string' || !/^\w+$/.test(name)) throw invalidValue(call, 'name must be an identifier such as abs_stub', name);
  if (!declared.has(name)) throw invalidValue(call, `no op routes through a stub of that name (the stubs are ${[...declared].join(', ')})`, name);
  const key = requireOneOf(call, 'backend', backend, knownBackendKeys());
  const fn = requireFunction<StubKernel>(call, 'kernel', kernel);
  let table = stubs.get(name);
  if (table === undefined) stubs.set(name, (table = new Map()));
  if (table.has(key)) throw invalidValue(call, `${name} already has a kernel for ${key}`);
  table.set(key, fn);
  return () => {
    if (table.get(key) === fn) table.delete(key);
  };
}

/** The kernel of stub `name` for `backend`, or the not-implemented error naming `op`. */
export function stubKernel(call: string, name: string, backend: BackendKey, op: string): StubKernel {
  const kernel = stubs.get(name)?.get(backend);
  if (kernel === undefined) throw openRegError('notImplemented', { call, op, device: backend });
  return kernel;
}

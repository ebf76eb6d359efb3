import { invalidValue, openRegError } from '../errors/errors.js';
import { requireFunction, requireOneOf } from '../errors/validate.js';
import { type OperatorSchema, parseSchema } from './schema.js';

/**
 * Backends a tensor can live on: `cpu`, `meta` (shapes and dtypes only), and each device
 * type a backend package registers (`openreg`, PyTorch's PrivateUse1).
 */
export type BackendKey = string;
/** Dispatch keys in PyTorch's order: Autocast, then Autograd, then the backend (then its fallback). */
export type DispatchKey = 'Autocast' | 'Autograd' | BackendKey;

/** The wrapper keys, in order; every other key is a backend. */
export const WRAPPER_KEYS: readonly DispatchKey[] = ['Autocast', 'Autograd'];
/**
 * PyTorch's CompositeImplicitAutograd: a kernel written with other ops, used at the Autograd key
 * and at any backend with no kernel of its own. Its ops record their own gradients, so it needs no formula.
 */
export const COMPOSITE: DispatchKey = 'CompositeImplicitAutograd';
const backendKeys = ['cpu', 'meta'];

/** The backend keys known now (cpu, meta, then the registered device types). */
export function knownBackendKeys(): readonly BackendKey[] {
  return backendKeys;
}

/** Adds a device type's backend key (registerDeviceType does this). */
export function addBackendKey(key: string): void {
  if (!backendKeys.includes(key)) backendKeys.push(key);
}

/** Every dispatch key known now, in dispatch order. */
export function dispatchKeys(): readonly DispatchKey[] {
  return [...WRAPPER_KEYS, ...backendKeys];
}

/** The keys a kernel can be registered at: the dispatch keys and the composite key. */
export function registrationKeys(): readonly DispatchKey[] {
  return [COMPOSITE, ...WRAPPER_KEYS, ...backendKeys];
}

/** Calls the op again with the keys after the current one (PyTorch's redispatch). */
export type Redispatch = (...args: unknown[]) => unknown;
/** A kernel registered for one op at one key. */
export type OperatorKernel = (next: Redispatch, ...args: unknown[]) => unknown;
/** A fallback for every op with no kernel at its key (a boxed kernel: it gets the op). */
export type FallbackKernel = (schema: OperatorSchema, next: Redispatch, ...args: unknown[]) => unknown;

interface Operator {
  readonly schema: OperatorSchema;
  readonly kernels: Map<DispatchKey, OperatorKernel>;
  /** Backends on which this op may not fall back (the blocklist). */
  readonly blocked: Set<BackendKey>;
  /** How many arguments a call must pass (up to the last one without a default) and may pass. */
  readonly minArgs: number;
  readonly maxArgs: number;
}

/**
 * The operator registry and dispatcher, keyed by operator × dispatch key (tfjs keys by
 * kernel × backend; PyTorch adds the ordered keys before the backend). A call walks the
 * keys it is dispatched with, in order: a kernel at a key runs and may redispatch to the
 * next keys; a wrapper key (Autocast, Autograd) with no kernel falls through; a backend
 * with no kernel runs the backend's global fallback, unless the op is blocked there.
 */
export class Dispatcher {
  readonly #ops = new Map<string, Operator>();
  /** Every name an op answers to: qualified, and an aten op's bare name too (no string built per call). */
  readonly #byName = new Map<string, Operator>();
  readonly #fallbacks = new Map<DispatchKey, FallbackKernel>();
  /** Per backend: kernels looked up by op name at call time (a device backend's builtins: ops defined later are seen). */
  readonly #defaults = new Map<BackendKey, (name: string) => OperatorKernel | undefined>();

  /** Defines an operator from its schema (`library.define`); returns its qualified name. */
  define(call: string, schema: unknown): string {
    const parsed = parseSchema(call, schema);
    if (this.#ops.has(parsed.qualifiedName)) throw invalidValue(call, `operator ${parsed.qualifiedName} is already defined`);
    const required = parsed.args.findLastIndex((a) => a.default === undefined) + 1;
    const op: Operator = { schema: parsed, kernels: new Map(), blocked: new Set(), minArgs: required, maxArgs: parsed.args.length };
    this.#ops.set(parsed.qualifiedName, op);
    this.#byName.set(parsed.qualifiedName, op);
    if (parsed.qualifiedName.startsWith('aten::')) this.#byName.set(parsed.qualifiedName.slice(6), op);
    return parsed.qualifiedName;
  }

  /** Removes an operator and its kernels (a library going away). */
  undefine(name: string): void {
    const op = this.#ops.get(name);
    this.#ops.delete(name);
    for (const [key, value] of this.#byName) if (value === op) this.#byName.delete(key);
  }

  /** Qualified names of every defined operator. */
  names(): string[] {
    return [...this.#ops.keys()];
  }

  /** True if `name` (qualified, or an aten name) is defined. */
  has(name: string): boolean {
    return this.#byName.has(name);
  }

  schema(call: string, name: unknown): OperatorSchema {
    return this.#op(call, name).schema;
  }

  /** Registers `kernel` for `name` at `key` (`library.impl`); returns its disposer. */
  impl(call: string, name: unknown, key: unknown, kernel: OperatorKernel): () => void {
    const op = this.#op(call, name);
    const k = requireOneOf(call, 'key', key, registrationKeys());
    const fn = requireFunction<OperatorKernel>(call, 'kernel', kernel);
    if (op.kernels.has(k)) throw invalidValue(call, `${op.schema.qualifiedName} already has a kernel for ${k}`);
    op.kernels.set(k, fn);
    return () => {
      if (op.kernels.get(k) === fn) op.kernels.delete(k);
    };
  }

  /** The fallback of every op with no kernel at `key` (e.g. openreg ops run on the CPU); returns its disposer. */
  fallback(call: string, key: unknown, kernel: FallbackKernel): () => void {
    const k = requireOneOf(call, 'key', key, dispatchKeys());
    const fn = requireFunction<FallbackKernel>(call, 'kernel', kernel);
    if (this.#fallbacks.has(k)) throw invalidValue(call, `${k} already has a fallback`);
    this.#fallbacks.set(k, fn);
    return () => {
      if (this.#fallbacks.get(k) === fn) this.#fallbacks.delete(k);
    };
  }

  /**
   * Kernels for `backend` looked up by op name when a call reaches it and the op has no kernel
   * registered there; returns the disposer.
   */
  defaults(call: string, backend: BackendKey, lookup: (name: string) => OperatorKernel | undefined): () => void {
    const k = requireOneOf(call, 'backend', backend, backendKeys);
    if (this.#defaults.has(k)) throw invalidValue(call, `${k} already has default kernels`);
    this.#defaults.set(k, lookup);
    return () => {
      if (this.#defaults.get(k) === lookup) this.#defaults.delete(k);
    };
  }

  /** Makes `name` fail on `backend` instead of falling back there. */
  block(call: string, name: unknown, backend: unknown): void {
    this.#op(call, name).blocked.add(requireOneOf(call, 'backend', backend, backendKeys));
  }

  /** True if `name` has its own kernel at `key` (registered or a backend's default; not a fallback). */
  hasKernel(name: string, key: DispatchKey): boolean {
    const op = this.#ops.get(name);
    return op !== undefined && this.#kernel(op, key) !== undefined;
  }

  #kernel(op: Operator, key: DispatchKey): OperatorKernel | undefined {
    return op.kernels.get(key) ?? this.#defaults.get(key)?.(op.schema.qualifiedName);
  }

  /**
   * Calls `name` with `args`, dispatched on `keys` (wrapper keys first, then one backend,
   * in dispatchKeys() order). `call` is the public call, for messages.
   */
  call(call: string, name: string, keys: readonly DispatchKey[], args: readonly unknown[]): unknown {
    const op = this.#op(call, name);
    // Extra arguments are the one check every call can afford; callOp binds each argument to its type.
    if (args.length > op.maxArgs) throw arityError(call, op, args.length);
    const run = (from: number, current: readonly unknown[]): unknown => {
      for (let i = from; i < keys.length; i++) {
        const key = keys[i]!;
        const next: Redispatch = (...nextArgs) => run(i + 1, nextArgs);
        const kernel = this.#kernel(op, key);
        if (kernel !== undefined) return kernel(next, ...current);
        const isBackend = !WRAPPER_KEYS.includes(key);
        // A composite kernel stands in at Autograd and at a backend without a kernel: it calls other ops, which dispatch on their own.
        const composite = key === 'Autocast' ? undefined : op.kernels.get(COMPOSITE);
        if (composite !== undefined) return composite(next, ...current);
        if (isBackend && op.blocked.has(key)) throw openRegError('notImplemented', { call, op: op.schema.qualifiedName, device: key });
        const fallback = this.#fallbacks.get(key);
        if (fallback !== undefined) return fallback(op.schema, next, ...current);
        if (isBackend) throw openRegError('notImplemented', { call, op: op.schema.qualifiedName, device: key });
        // A wrapper key with neither kernel nor fallback falls through.
      }
      throw openRegError('notImplemented', { call, op: op.schema.qualifiedName, device: keys[keys.length - 1] ?? 'none' });
    };
    return run(0, args);
  }

  /** Checks the number of arguments of a call to `name`: too few as well as too many. */
  checkArity(call: string, name: string, count: number): void {
    const op = this.#op(call, name);
    if (count > op.maxArgs || count < op.minArgs) throw arityError(call, op, count);
  }

  #op(call: string, name: unknown): Operator {
    if (typeof name !== 'string') throw invalidValue(call, 'the operator name must be a string', name);
    const op = this.#byName.get(name);
    if (op === undefined) throw invalidValue(call, `no operator ${name} is defined`);
    return op;
  }
}

function arityError(call: string, op: Operator, count: number): Error {
  const { minArgs, maxArgs } = op;
  const expected = minArgs === maxArgs ? `${maxArgs}` : `${minArgs} to ${maxArgs}`;
  return invalidValue(call, `${op.schema.qualifiedName} takes ${expected} argument${maxArgs === 1 ? '' : 's'} (${signature(op.schema)})`, count);
}

function signature(schema: OperatorSchema): string {
  return schema.args.map((a) => `${a.type} ${a.name}${a.default === undefined ? '' : `=${a.default}`}`).join(', ');
}

import { AsyncLocalStorage } from 'node:async_hooks';
import { invalidValue } from '../errors/errors.js';
import { given, requireBoolean, requireFunction, requireOptions } from '../errors/validate.js';
import { deviceTypes, isDeviceType } from '../tensor/device-types.js';
import { dispatcher } from '../dispatch/registry.js';
import type { Redispatch } from '../dispatch/dispatcher.js';
import { DTYPES, type DType, promoteTypes } from '../tensor/dtype.js';
import { Tensor, addWrapperKeySource } from '../tensor/tensor.js';
import './builtins.js';

/** Device types autocast applies to: `cpu` and any backend's (`openreg`). */
export type AutocastDeviceType = string;

function requireDeviceType(call: string, name: string, value: unknown): AutocastDeviceType {
  if (typeof value !== 'string' || value === 'meta' || !isDeviceType(value)) throw invalidValue(call, `${name} must be cpu or a backend's device type (${deviceTypes().filter((t) => t !== 'meta').join(', ')})`, value);
  return value;
}

/** Which ops run in the lower precision, which in float32, and which at their widest input type. */
export interface AutocastPolicy {
  /** Cast floating inputs to the autocast dtype (matrix products). */
  lowerPrecision: readonly string[];
  /** Cast floating inputs to float32 (reductions, exp, softmax, losses: precision-sensitive). */
  float32: readonly string[];
  /** Cast floating inputs to the widest floating type among them. */
  promote: readonly string[];
}

export interface AutocastOptions {
  /** @default 'openreg' */
  deviceType?: AutocastDeviceType;
  /** float16 or bfloat16; @default float16 on openreg, bfloat16 on cpu (PyTorch's defaults) */
  dtype?: DType;
  /** @default true */
  enabled?: boolean;
}

interface AutocastState {
  readonly deviceType: AutocastDeviceType;
  readonly dtype: DType;
  /** Casts of leaf tensors made in this scope, reused by later ops in it. */
  readonly cache: Map<Tensor, Tensor>;
}

/** Per async context: the autocast in force (undefined: none), in a box a `using` guard can change. */
interface Scope {
  state: AutocastState | undefined;
}

const root: Scope = { state: undefined };
const storage = new AsyncLocalStorage<Scope>();
const current = (): Scope => storage.getStore() ?? root;

/** Per device type: the dtypes autocast supports, the first being the default (cpu: bfloat16, as PyTorch). */
const ampDtypes = new Map<AutocastDeviceType, readonly DType[]>([['cpu', ['bfloat16', 'float16']]]);
const LOW_PRECISION: readonly DType[] = ['float16', 'bfloat16'];
const supported = (type: AutocastDeviceType): readonly DType[] => ampDtypes.get(type) ?? LOW_PRECISION;

/** The lower-precision dtypes autocast supports on a device type (`get_amp_supported_dtype`). */
export function getAmpSupportedDtype(deviceType: AutocastDeviceType): DType[] {
  return [...supported(requireDeviceType('getAmpSupportedDtype', 'deviceType', deviceType))];
}

/** True inside an enabled autocast scope for `deviceType`. */
export function isAutocastEnabled(deviceType: AutocastDeviceType = 'openreg'): boolean {
  return current().state?.deviceType === requireDeviceType('isAutocastEnabled', 'deviceType', deviceType);
}

/** The dtype autocast casts to on `deviceType` (its default outside any scope). */
export function getAutocastDtype(deviceType: AutocastDeviceType = 'openreg'): DType {
  const type = requireDeviceType('getAutocastDtype', 'deviceType', deviceType);
  const state = current().state;
  return state?.deviceType === type ? state.dtype : supported(type)[0]!;
}

/** The state `options` ask for: undefined when disabled, or (with PyTorch's warning) when the dtype is unsupported. */
function resolve(call: string, options: unknown): AutocastState | undefined {
  const o = requireOptions<AutocastOptions>(call, options);
  const deviceType = requireDeviceType(call, 'options.deviceType', given(o.deviceType, 'openreg'));
  const enabled = requireBoolean(call, 'options.enabled', given(o.enabled, true));
  const dtype = given(o.dtype, supported(deviceType)[0]!);
  if (typeof dtype !== 'string' || !Object.hasOwn(DTYPES, dtype)) throw invalidValue(call, 'options.dtype must be a dtype name', dtype);
  if (!enabled) return undefined;
  if (!supported(deviceType).includes(dtype)) {
    process.emitWarning(`In ${deviceType} autocast, but the target dtype ${dtype} is not supported. Disabling autocast.`, { code: 'OPENREG_AUTOCAST_DTYPE' });
    return undefined;
  }
  return { deviceType, dtype, cache: new Map() };
}

/** Ends a scope's cache. The casts are not disposed: a graph may still need them for backward (the GC frees them). */
function clear(state: AutocastState | undefined): void {
  state?.cache.clear();
}

/**
 * Runs `fn` with autocast (`torch.autocast`): ops in the policy of `deviceType` run on inputs
 * cast to the autocast dtype, to float32, or to their widest type. The scope covers `fn` and
 * everything it awaits, and no other async context; casts of leaf tensors are cached until
 * it ends.
 */
export function autocast<T>(options: AutocastOptions, fn: () => T): T {
  const call = 'autocast';
  const state = resolve(call, options);
  const body = requireFunction<() => T>(call, 'fn', fn);
  const result = storage.run({ state }, body);
  if (result instanceof Promise) {
    void result.then(
      () => clear(state),
      () => clear(state),
    );
  } else {
    clear(state);
  }
  return result;
}

/**
 * The `using` form: `using amp = new AutocastGuard({ dtype: 'bfloat16' })` turns autocast on
 * for the rest of the block in the current async context and restores what was in force.
 */
export class AutocastGuard implements Disposable {
  readonly #scope: Scope;
  readonly #previous: AutocastState | undefined;
  readonly #state: AutocastState | undefined;
  #active = true;

  constructor(options: AutocastOptions = {}) {
    this.#state = resolve('AutocastGuard', options);
    this.#scope = current();
    this.#previous = this.#scope.state;
    this.#scope.state = this.#state;
  }

  [Symbol.dispose](): void {
    if (!this.#active) return;
    this.#active = false;
    this.#scope.state = this.#previous;
    clear(this.#state);
  }
}

// ------------------------------------------------------------ the Autocast dispatch key

const policies = new Map<AutocastDeviceType, AutocastPolicy>();
const withKernel = new Set<string>();

/**
 * Registers (or replaces) the autocast policy of a device type, and optionally the dtypes
 * it supports (the first is the default; float16 then bfloat16 otherwise); its ops get an
 * Autocast kernel.
 */
export function registerAutocastPolicy(deviceType: AutocastDeviceType, policy: AutocastPolicy, dtypes?: readonly DType[]): void {
  const call = 'registerAutocastPolicy';
  const type = requireDeviceType(call, 'deviceType', deviceType);
  const p = requireOptions<AutocastPolicy>(call, policy);
  if (dtypes !== undefined) {
    if (!Array.isArray(dtypes) || dtypes.length === 0 || !dtypes.every((d) => LOW_PRECISION.includes(d))) throw invalidValue(call, 'dtypes must list float16 and/or bfloat16', dtypes);
    ampDtypes.set(type, [...dtypes]);
  }
  const lists = [p.lowerPrecision, p.float32, p.promote].map((list, i) => {
    if (!Array.isArray(list)) throw invalidValue(call, `policy.${['lowerPrecision', 'float32', 'promote'][i]} must be an array of op names`, list);
    return list.map((name) => qualified(call, name));
  });
  policies.set(type, { lowerPrecision: lists[0]!, float32: lists[1]!, promote: lists[2]! });
  for (const name of lists.flat()) {
    if (withKernel.has(name)) continue;
    withKernel.add(name);
    dispatcher.impl(call, name, 'Autocast', (next, ...args) => autocastKernel(name, next, args));
  }
}

function qualified(call: string, name: unknown): string {
  if (typeof name !== 'string' || !dispatcher.has(name)) throw invalidValue(call, 'every op of a policy must be a defined operator', name);
  return name.includes('::') ? name : `aten::${name}`;
}

const floating = (a: unknown): a is Tensor => a instanceof Tensor && DTYPES[a.dtype].category === 'floating';

function autocastKernel(name: string, next: Redispatch, args: readonly unknown[]): unknown {
  const state = current().state!;
  const policy = policies.get(state.deviceType);
  let target: DType | undefined;
  if (policy?.lowerPrecision.includes(name)) target = state.dtype;
  else if (policy?.float32.includes(name)) target = 'float32';
  else if (policy?.promote.includes(name)) target = args.filter(floating).reduce<DType | undefined>((w, t) => (w === undefined ? t.dtype : promoteTypes(w, t.dtype)), undefined);
  const cast = (a: unknown): unknown => {
    if (target === undefined || !floating(a) || a.device.type !== state.deviceType || a.dtype === target) return a;
    if (a.gradFn !== undefined) return a.to(target);
    let hit = state.cache.get(a);
    if (hit === undefined || hit.dtype !== target) {
      hit = a.to(target);
      if (target === state.dtype) state.cache.set(a, hit);
    }
    return hit;
  };
  const castArgs = args.map((a) => (Array.isArray(a) ? a.map(cast) : cast(a)));
  // Below the Autocast key, ops run as written (PyTorch excludes the key inside its kernels).
  return storage.run({ state: undefined }, () => next(...castArgs));
}

addWrapperKeySource((tensors) => {
  const state = current().state;
  return state !== undefined && tensors.some((t) => t.device.type === state.deviceType) ? 'Autocast' : undefined;
});

/** The policy of the builtin ops (openreg's backend registers it for its device type too). */
export const DEFAULT_AUTOCAST_POLICY: AutocastPolicy = {
  lowerPrecision: ['mm', 'matmul'],
  float32: ['dot', 'sum', 'sum.dim_IntList', 'mean', 'mean.dim', 'softmax.int', 'log_softmax.int', 'exp', 'log', 'pow.Tensor_Scalar'],
  promote: ['add.Tensor', 'sub.Tensor', 'mul.Tensor', 'div.Tensor', 'maximum', 'minimum'],
};
registerAutocastPolicy('cpu', DEFAULT_AUTOCAST_POLICY);

import { invalidValue } from '../errors/errors.js';
import { given, requireBoolean, requireFunction, requireOptions, requireArity } from '../errors/validate.js';
import { deviceTypes, isDeviceType } from '../tensor/device-types.js';
import { dispatcher } from '../dispatch/registry.js';
import type { Redispatch } from '../dispatch/dispatcher.js';
import { DTYPES, type DType, type DTypeAlias, dtypeNamed, promoteTypes } from '../tensor/dtype.js';
import { Tensor, addWrapperKeySource, tensorsIn } from '../tensor/tensor.js';
import { type AutocastSetting, type StateChange, type StateGuard, dispatchState, enterState, excludingKey, withState } from '../dispatch/dispatch-state.js';
import './builtins.js';
import { type AutocastCategory, definedOps } from './define-op.js';

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
  dtype?: DType | DTypeAlias;
  /** @default true */
  enabled?: boolean;
  /** Reuse the casts of leaf tensors within the scope (`cache_enabled`); @default true */
  cacheEnabled?: boolean;
}

const OPTION_KEYS: readonly string[] = ['deviceType', 'dtype', 'enabled', 'cacheEnabled'];

/** What an autocast scope asks for: a setting for its device type, or none (disabled). */
interface AutocastRequest {
  readonly deviceType: AutocastDeviceType;
  readonly setting: AutocastSetting | undefined;
}

/** The state with `request` in force for its device type (other device types keep theirs). */
function applying(request: AutocastRequest): StateChange {
  return (s) => {
    const autocast = new Map(s.autocast);
    if (request.setting === undefined) autocast.delete(request.deviceType);
    else autocast.set(request.deviceType, request.setting);
    return { ...s, autocast };
  };
}

/** Per device type: the dtypes autocast supports, the first being the default (cpu: bfloat16, as PyTorch). */
const ampDtypes = new Map<AutocastDeviceType, readonly DType[]>([['cpu', ['bfloat16', 'float16']]]);
const LOW_PRECISION: readonly DType[] = ['float16', 'bfloat16'];
const supported = (type: AutocastDeviceType): readonly DType[] => ampDtypes.get(type) ?? LOW_PRECISION;

/** The lower-precision dtypes autocast supports on a device type (`get_amp_supported_dtype`). */
export function getAmpSupportedDtype(deviceType: AutocastDeviceType): DType[] {
  requireArity('getAmpSupportedDtype', arguments, 1);
  return [...supported(requireDeviceType('getAmpSupportedDtype', 'deviceType', deviceType))];
}

/** True inside an enabled autocast scope for `deviceType`. */
export function isAutocastEnabled(deviceType: AutocastDeviceType = 'openreg'): boolean {
  requireArity('isAutocastEnabled', arguments, 1);
  return dispatchState().autocast.has(requireDeviceType('isAutocastEnabled', 'deviceType', deviceType));
}

/** The dtype autocast casts to on `deviceType` (its default outside any scope). */
export function getAutocastDtype(deviceType: AutocastDeviceType = 'openreg'): DType {
  requireArity('getAutocastDtype', arguments, 1);
  const type = requireDeviceType('getAutocastDtype', 'deviceType', deviceType);
  return (dispatchState().autocast.get(type)?.dtype as DType | undefined) ?? supported(type)[0]!;
}

/** The setting `options` ask for: none when disabled, or (with PyTorch's warning) when the dtype is unsupported. */
function resolve(call: string, options: unknown): AutocastRequest {
  const o = requireOptions<AutocastOptions>(call, options, 'options', OPTION_KEYS);
  const deviceType = requireDeviceType(call, 'options.deviceType', given(o.deviceType, 'openreg'));
  const enabled = requireBoolean(call, 'options.enabled', given(o.enabled, true));
  const cacheEnabled = requireBoolean(call, 'options.cacheEnabled', given(o.cacheEnabled, true));
  const dtype = o.dtype === undefined ? supported(deviceType)[0]! : dtypeNamed(o.dtype);
  if (dtype === undefined) throw invalidValue(call, "options.dtype must be a dtype name (or 'half', 'float', …)", o.dtype);
  if (!enabled) return { deviceType, setting: undefined };
  if (!supported(deviceType).includes(dtype)) {
    process.emitWarning(`In ${deviceType} autocast, but the target dtype ${dtype} is not supported. Disabling autocast.`, { code: 'OPENREG_AUTOCAST_DTYPE' });
    return { deviceType, setting: undefined };
  }
  return { deviceType, setting: { dtype, cache: cacheEnabled ? new Map() : undefined } };
}

/** Ends a scope's cache. The casts are not disposed: a graph may still need them for backward (the GC frees them). */
function clear(request: AutocastRequest): void {
  request.setting?.cache?.clear();
}

/**
 * Runs `fn` with autocast (`torch.autocast`): ops in the policy of `deviceType` run on inputs
 * cast to the autocast dtype, to float32, or to their widest type. The scope covers `fn` and
 * everything it awaits, and no other async context; casts of leaf tensors are cached until
 * it ends.
 */
export function autocast<T>(options: AutocastOptions, fn: () => T): T {
  requireArity('autocast', arguments, 2);
  const call = 'autocast';
  const request = resolve(call, options);
  const body = requireFunction<() => T>(call, 'fn', fn);
  const result = withState(applying(request), body);
  if (result instanceof Promise) {
    void result.then(
      () => clear(request),
      () => clear(request),
    );
  } else {
    clear(request);
  }
  return result;
}

/**
 * The `using` form: `using amp = new AutocastGuard({ dtype: 'bfloat16' })` turns autocast on
 * for the rest of the block in the current async context (and what it awaits or starts), and
 * disposing it restores what that context had, in whatever order guards are disposed.
 */
export class AutocastGuard implements Disposable {
  readonly #request: AutocastRequest;
  readonly #guard: StateGuard;

  constructor(options: AutocastOptions = {}) {
    requireArity('AutocastGuard', arguments, 1);
    this.#request = resolve('AutocastGuard', options);
    this.#guard = enterState(applying(this.#request));
  }

  [Symbol.dispose](): void {
    this.#guard.dispose();
    clear(this.#request);
  }
}

// ------------------------------------------------------------ the Autocast dispatch key

const POLICY_KEYS: readonly string[] = ['lowerPrecision', 'float32', 'promote'];
const policies = new Map<AutocastDeviceType, AutocastPolicy>();
const withKernel = new Set<string>();

/**
 * Registers (or replaces) the autocast policy of a device type, and optionally the dtypes
 * it supports (the first is the default; float16 then bfloat16 otherwise); its ops get an
 * Autocast kernel.
 */
export function registerAutocastPolicy(deviceType: AutocastDeviceType, policy: AutocastPolicy, dtypes?: readonly DType[]): void {
  requireArity('registerAutocastPolicy', arguments, 3);
  const call = 'registerAutocastPolicy';
  const type = requireDeviceType(call, 'deviceType', deviceType);
  const p = requireOptions<AutocastPolicy>(call, policy, 'policy', POLICY_KEYS);
  if (dtypes !== undefined && (!Array.isArray(dtypes) || dtypes.length === 0 || !dtypes.every((d) => LOW_PRECISION.includes(d)))) throw invalidValue(call, 'dtypes must list float16 and/or bfloat16', dtypes);
  const lists = [p.lowerPrecision, p.float32, p.promote].map((list, i) => {
    if (!Array.isArray(list)) throw invalidValue(call, `policy.${POLICY_KEYS[i]} must be an array of op names`, list);
    return list.map((name) => qualified(call, name));
  });
  // Nothing changes until every argument has been checked.
  if (dtypes !== undefined) ampDtypes.set(type, [...dtypes]);
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
  // The op's tensors share one device: its type's setting applies.
  const autocast = dispatchState().autocast;
  const deviceType = tensorsIn(args).find((t) => autocast.has(t.device.type))!.device.type;
  const state = { deviceType, ...autocast.get(deviceType)! } as { deviceType: string; dtype: DType; cache: Map<Tensor, Tensor> | undefined };
  const policy = policies.get(deviceType);
  let target: DType | undefined;
  if (policy?.lowerPrecision.includes(name)) target = state.dtype;
  else if (policy?.float32.includes(name)) target = 'float32';
  // A Tensor[] argument (cat) takes part too.
  else if (policy?.promote.includes(name)) target = tensorsIn(args).filter(floating).reduce<DType | undefined>((w, t) => (w === undefined ? t.dtype : promoteTypes(w, t.dtype)), undefined);
  const cast = (a: unknown): unknown => {
    if (target === undefined || !floating(a) || a.device.type !== state.deviceType || a.dtype === target) return a;
    if (a.gradFn !== undefined) return a.to(target);
    let hit = state.cache?.get(a);
    if (hit === undefined || hit.dtype !== target) {
      hit = a.to(target);
      if (target === state.dtype) state.cache?.set(a, hit);
    }
    return hit;
  };
  const castArgs = args.map((a) => (Array.isArray(a) ? a.map(cast) : cast(a)));
  // Below the Autocast key, ops run as written (PyTorch excludes the key inside its kernels).
  return excludingKey('Autocast', () => next(...castArgs));
}

addWrapperKeySource((tensors, state) => {
  const autocast = state.autocast;
  return autocast.size > 0 && tensors.some((t) => autocast.has(t.device.type)) ? 'Autocast' : undefined;
});

/** The functional overloads of the ops whose definition puts them in `category`. */
function definedIn(category: AutocastCategory): string[] {
  return definedOps().flatMap((d) => (d.autocast === category ? d.functional.map((n) => n.replace(/^aten::/, '')) : []));
}

/** The policy of the builtin ops (openreg's backend registers it for its device type too): each defineOp's category, and the ops not yet defined that way. */
export const DEFAULT_AUTOCAST_POLICY: AutocastPolicy = {
  lowerPrecision: definedIn('lowerPrecision'),
  float32: definedIn('float32'),
  promote: definedIn('promote'),
};
registerAutocastPolicy('cpu', DEFAULT_AUTOCAST_POLICY);

import { AsyncLocalStorage } from 'node:async_hooks';

/** Autocast as one device type has it in force: the dtype, and the casts of leaf tensors made in the scope. */
export interface AutocastSetting {
  readonly dtype: string;
  /** Casts reused by later ops of the scope (undefined: `cacheEnabled: false`). */
  readonly cache: Map<object, object> | undefined;
}

/**
 * What dispatch sees in one async context (PyTorch keeps it thread-local): grad mode, the
 * keys a kernel excluded for the calls below it, and autocast per device type. Immutable:
 * a scope or guard installs a new state, so a change never reaches a context that did not make it.
 */
export interface DispatchState {
  readonly gradEnabled: boolean;
  /** Keys calls in this context skip: a kernel that redispatches excludes its own key (PyTorch's ExcludeDispatchKeyGuard). */
  readonly excluded: ReadonlySet<string>;
  readonly autocast: ReadonlyMap<string, AutocastSetting>;
}

/** How a scope changes the state it is entered in. */
export type StateChange = (state: DispatchState) => DispatchState;

/**
 * A scope in a context's chain. The state is computed from the chain, skipping disposed
 * scopes, so guards disposed out of order leave exactly the others in force.
 */
interface Frame {
  readonly change: StateChange;
  readonly previous: Frame | undefined;
  disposed: boolean;
  /** The state, valid while `version` is the number of disposals so far. */
  cached: DispatchState | undefined;
  version: number;
}

const INITIAL: DispatchState = Object.freeze({ gradEnabled: true, excluded: new Set<string>(), autocast: new Map<string, AutocastSetting>() });
const storage = new AsyncLocalStorage<Frame>();
/** Disposals so far: a disposal can change the state of any frame above the disposed one. */
let disposals = 0;

function live(frame: Frame | undefined): Frame | undefined {
  let f = frame;
  while (f !== undefined && f.disposed) f = f.previous;
  return f;
}

function stateOf(frame: Frame | undefined): DispatchState {
  const f = live(frame);
  if (f === undefined) return INITIAL;
  if (f.cached !== undefined && f.version === disposals) return f.cached;
  const state = f.change(stateOf(f.previous));
  f.cached = state;
  f.version = disposals;
  return state;
}

/** The dispatch state of the calling async context. */
export function dispatchState(): DispatchState {
  return stateOf(storage.getStore());
}

/** Runs `fn` (and everything it awaits or starts) with `change` applied to the state. */
export function withState<T>(change: StateChange, fn: () => T): T {
  const previous = storage.getStore();
  // Derived now: the calls inside read it without walking the chain.
  return storage.run({ change, previous, disposed: false, cached: change(stateOf(previous)), version: disposals }, fn);
}

/**
 * `change` remembering its result per state: the hot scopes (a kernel excluding its key, noGrad)
 * then derive each state once, not once per op call.
 */
export function memoized(change: StateChange): StateChange {
  const results = new WeakMap<DispatchState, DispatchState>();
  return (s) => {
    let r = results.get(s);
    if (r === undefined) results.set(s, (r = change(s)));
    return r;
  };
}

const excluding = new Map<string, StateChange>();

/** Runs `fn` with `key` excluded: calls inside it skip that key (a kernel calling below itself). */
export function excludingKey<T>(key: string, fn: () => T): T {
  let change = excluding.get(key);
  if (change === undefined) excluding.set(key, (change = memoized((s) => (s.excluded.has(key) ? s : { ...s, excluded: new Set([...s.excluded, key]) }))));
  return withState(change, fn);
}

/** A `using` guard's hold on its context: dispose() restores what the context had. */
export interface StateGuard {
  dispose(): void;
}

/**
 * Applies `change` to the rest of the calling async context (what it awaits or starts next),
 * for a `using` guard. One rule of AsyncLocalStorage applies: an async function's code
 * before its first `await` runs in its caller's context, which then sees the guard too.
 */
export function enterState(change: StateChange): StateGuard {
  const replaced = storage.getStore();
  const frame: Frame = { change, previous: replaced, disposed: false, cached: undefined, version: -1 };
  storage.enterWith(frame);
  return {
    dispose(): void {
      if (frame.disposed) return;
      frame.disposed = true;
      disposals++;
      // Where this guard's frame is still on top, the context gets back what it replaced; elsewhere the chain skips it.
      if (storage.getStore() === frame) storage.enterWith(replaced ?? ROOT);
    },
  };
}

/** A frame that changes nothing: what a context gets back when its only guard goes. */
const ROOT: Frame = { change: (s) => s, previous: undefined, disposed: false, cached: undefined, version: -1 };

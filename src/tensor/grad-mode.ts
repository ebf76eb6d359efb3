import { requireBoolean, requireFunction } from '../errors/validate.js';
import { dispatchState, memoized, withState } from '../dispatch/dispatch-state.js';

/** True unless inside noGrad (per async context, part of the dispatch state). */
export function isGradEnabled(): boolean {
  return dispatchState().gradEnabled;
}

const gradOff = withGrad(false);
const gradOn = withGrad(true);

function withGrad(enabled: boolean) {
  return memoized((s) => (s.gradEnabled === enabled ? s : { ...s, gradEnabled: enabled }));
}

/** Runs `fn` with gradient recording off (`torch.no_grad()`), for it and everything it awaits. */
export function noGrad<T>(fn: () => T): T {
  return withState(gradOff, requireFunction<() => T>('noGrad', 'fn', fn));
}

/** Runs `fn` with gradient recording set to `enabled`. */
export function withGradEnabled<T>(enabled: boolean, fn: () => T): T {
  const call = 'withGradEnabled';
  return withState(requireBoolean(call, 'enabled', enabled) ? gradOn : gradOff, requireFunction<() => T>(call, 'fn', fn));
}

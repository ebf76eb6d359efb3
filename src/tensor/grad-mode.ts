import { AsyncLocalStorage } from 'node:async_hooks';
import { requireBoolean, requireFunction } from '../errors/validate.js';

const scope = new AsyncLocalStorage<boolean>();

/** True unless inside noGrad (per async context, like the device guard). */
export function isGradEnabled(): boolean {
  return scope.getStore() ?? true;
}

/** Runs `fn` with gradient recording off (`torch.no_grad()`), for it and everything it awaits. */
export function noGrad<T>(fn: () => T): T {
  return scope.run(false, requireFunction<() => T>('noGrad', 'fn', fn));
}

/** Runs `fn` with gradient recording set to `enabled`. */
export function withGradEnabled<T>(enabled: boolean, fn: () => T): T {
  const call = 'withGradEnabled';
  return scope.run(requireBoolean(call, 'enabled', enabled), requireFunction<() => T>(call, 'fn', fn));
}

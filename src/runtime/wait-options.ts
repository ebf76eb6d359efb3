import { invalidValue } from '../errors/errors.js';
import { given, requireFinite, requireOptions } from '../errors/validate.js';

/** Options of the waits: `timeoutMs` bounds any of them; `signal` ends a Promise one. */
export interface WaitOptions {
  /** Give up after this long: the wait ends with ERR_TIMEOUT (the work itself goes on). @default Infinity */
  timeoutMs?: number;
  /** Promise waits only: aborting ends the wait with ERR_ABORTED (the work itself goes on). */
  signal?: AbortSignal;
}

/** The keys a wait's options may have: any other is refused, never ignored. */
const WAIT_KEYS = ['timeoutMs', 'signal'];

/** @internal The bound a blocking wait's options ask for (Infinity for none); a signal cannot end one. */
export function syncTimeoutOf(call: string, options: unknown): number {
  const o = requireOptions<WaitOptions>(call, options, 'options', WAIT_KEYS);
  if (o.signal !== undefined) throw invalidValue(call, 'options.signal cannot end a blocking wait; use the Promise form or options.timeoutMs');
  return requireFinite(call, 'options.timeoutMs', given(o.timeoutMs, Infinity), 0, true);
}

/** @internal A Promise wait's bounds from its options; undefined when unbounded. */
export function waitBoundsOf(call: string, options: unknown): { call: string; timeoutMs: number; signal: AbortSignal | undefined } | undefined {
  const o = requireOptions<WaitOptions>(call, options, 'options', WAIT_KEYS);
  const timeoutMs = requireFinite(call, 'options.timeoutMs', given(o.timeoutMs, Infinity), 0, true);
  const signal = o.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalidValue(call, 'options.signal must be an AbortSignal', signal);
  return timeoutMs === Infinity && signal === undefined ? undefined : { call, timeoutMs, signal };
}

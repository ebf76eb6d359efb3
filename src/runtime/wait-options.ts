/** Options of the waits: `timeoutMs` bounds any of them; `signal` ends a Promise one. */
export interface WaitOptions {
  /** Give up after this long: the wait ends with ERR_TIMEOUT (the work itself goes on). @default Infinity */
  timeoutMs?: number;
  /** Promise waits only: aborting ends the wait with ERR_ABORTED (the work itself goes on). */
  signal?: AbortSignal;
}

import { ErrorCode, errorNumber } from '../errors/error-code.js';
import { openRegError } from '../errors/errors.js';
import { given, requireInteger, requireOneOf, requireOptions, requireArity } from '../errors/validate.js';
import type { OpenRegError } from '../errors/openreg-error.js';


/** Where a fault can be injected: the nth kernel launch, copy, memset or device allocation of a device. */
export type FaultSite = 'kernel' | 'copy' | 'memset' | 'malloc';
const SITES: readonly FaultSite[] = ['kernel', 'copy', 'memset', 'malloc'];

/** The errors each site can fail with: device commands fail on the device (a sticky error or a lost device); allocations fail at the call. */
const ERRORS: Readonly<Record<FaultSite, readonly string[]>> = {
  kernel: [ErrorCode.LAUNCH_FAILURE, ErrorCode.ILLEGAL_ADDRESS, ErrorCode.DEVICE_LOST],
  copy: [ErrorCode.LAUNCH_FAILURE, ErrorCode.ILLEGAL_ADDRESS, ErrorCode.DEVICE_LOST],
  memset: [ErrorCode.LAUNCH_FAILURE, ErrorCode.ILLEGAL_ADDRESS, ErrorCode.DEVICE_LOST],
  malloc: [ErrorCode.OUT_OF_MEMORY],
};

export interface FaultOptions {
  /** @default the current device */
  device?: number;
  at: FaultSite;
  /** Which occurrence fails, counted from the injection (1 = the next one). @default 1 */
  nth?: number;
  error: 'ERR_LAUNCH_FAILURE' | 'ERR_ILLEGAL_ADDRESS' | 'ERR_DEVICE_LOST' | 'ERR_OUT_OF_MEMORY';
}

interface Armed {
  device: number;
  at: FaultSite;
  remaining: number;
  error: string;
}

/**
 * Deterministic fault injection (`rt.faults.inject`): the nth kernel launch, copy or memset
 * of a device runs a built-in kernel that fails with the chosen error instead (so the error
 * arrives as a real device error does: sticky, or the device lost), and the nth device
 * allocation fails with ERR_OUT_OF_MEMORY: `rt.malloc` throws, while the caching allocator
 * frees its cache and retries twice, so only three failures in a row reach its caller.
 * Users test their error handling with it.
 */
export class FaultInjector {
  #armed: Armed[] = [];
  readonly #deviceOf: (call: string, device: unknown) => number;

  /** @internal */
  constructor(deviceOf: (call: string, device: unknown) => number) {
    this.#deviceOf = deviceOf;
  }

  /** Arms a fault; returns its disposer (disarms it if it has not fired). */
  inject(options: FaultOptions): () => void {
    requireArity('faults.inject', arguments, 1);
    const call = 'faults.inject';
    const o = requireOptions<FaultOptions>(call, options, 'options', ['device', 'at', 'nth', 'error']);
    const at = requireOneOf(call, 'options.at', o.at, SITES);
    const error = requireOneOf(call, 'options.error', o.error, ERRORS[at]);
    const armed: Armed = { device: this.#deviceOf(call, o.device), at, remaining: requireInteger(call, 'options.nth', given(o.nth, 1), 1), error };
    this.#armed.push(armed);
    return () => {
      this.#armed = this.#armed.filter((a) => a !== armed);
    };
  }

  /** Faults armed and not yet fired. */
  get pending(): number {
    return this.#armed.length;
  }

  clear(): void {
    requireArity('faults.clear', arguments, 0);
    this.#armed = [];
  }

  /** @internal Counts one occurrence of `at` on `device`; returns the error number of a fault that fires now. */
  take(device: number, at: FaultSite): number | undefined {
    if (this.#armed.length === 0) return undefined;
    let fired: number | undefined;
    for (const a of this.#armed) {
      if (a.device !== device || a.at !== at) continue;
      if (--a.remaining === 0 && fired === undefined) fired = errorNumber[a.error as ErrorCode];
    }
    if (fired !== undefined) this.#armed = this.#armed.filter((a) => a.remaining > 0);
    return fired;
  }

  /** @internal The error an injected allocation failure throws. */
  static outOfMemory(call: string, device: number, bytes: number): OpenRegError {
    return openRegError('injectedOutOfMemory', { call, bytes, device });
  }
}

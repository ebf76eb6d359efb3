import { requireArity } from '../errors/validate.js';
import type { RuntimeOptions } from '../runtime/options.js';
import { Runtime } from './runtime.js';

/**
 * Starts the backend's runtime now, with `options` (`torch.cuda.init()`); without a call, the
 * first use of an `openreg` device starts it with the environment's options. Once a runtime
 * is open, `init()` does nothing, and `init(options)` is refused (the options would not apply).
 */
export function init(options?: RuntimeOptions): Runtime {
  requireArity('init', arguments, 1);
  if (options !== undefined || Runtime.primary() === undefined) Runtime.configureLazy('init', options);
  return Runtime.backend('init');
}

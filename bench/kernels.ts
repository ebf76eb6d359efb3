import type { KernelContext } from '../src/index.js';

/** Does nothing: measures the launch path alone. */
export function empty(_ctx: KernelContext): void {}

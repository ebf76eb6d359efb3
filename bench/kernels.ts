import type { DevicePtr, KernelContext } from '../src/index.js';

/** Does nothing: measures the launch path alone. */
export function empty(_ctx: KernelContext): void {}

/** A compute-bound loop (no memory traffic): the same function runs on devices and in baselines. */
export function burn(iterations: number): number {
  let x = 1.000001;
  for (let i = 0; i < iterations; i++) x = x * 1.0000001 + 1e-9;
  return x;
}

/** `burn` as a kernel; the result goes to device memory so the loop cannot be elided. */
export function burnKernel(ctx: KernelContext, iterations: number, out: DevicePtr): void {
  ctx.f64(out, 1)[0] = burn(iterations);
}

import type { DevicePtr, KernelContext } from '../../src/index.js';

/** out[i] = |x[i]| over n contiguous float32 elements: the device kernel behind myops::custom_abs. */
export function customAbs(ctx: KernelContext, x: DevicePtr, out: DevicePtr, n: number): void {
  const input = ctx.f32(x, n);
  const output = ctx.f32(out, n);
  for (let i = 0; i < n; i++) output[i] = Math.abs(input[i]!);
}

import type { DevicePtr, KernelContext } from '../../src/index.js';

/** out[i] = a[i] + b[i] for i in [first, first + count). */
export function vectorAdd(ctx: KernelContext, a: DevicePtr, b: DevicePtr, out: DevicePtr, first: number, count: number): void {
  const x = ctx.f32(a + first * 4, count);
  const y = ctx.f32(b + first * 4, count);
  const z = ctx.f32(out + first * 4, count);
  for (let i = 0; i < count; i++) z[i] = x[i]! + y[i]!;
}

/**
 * Kernels every device worker loads at start: the random fills behind rt.randomUniform,
 * rt.randomNormal and rt.randomInt. Element i of a fill at offset `offset` reads 32-bit
 * value number offset + i·k of the Philox stream (k = values per element), so a fill's
 * result depends only on seed, offset and element index.
 */
import type { KernelContext } from '../src/protocol/kernel-context.js';
import { ErrorCode, errorCodeFromNumber } from '../src/errors/error-code.js';
import { OpenRegError } from '../src/errors/openreg-error.js';
import { RandomDType } from '../src/protocol/random-dtype.js';
import { PhiloxStream, toUnitFloat32, toUnitFloat64 } from '../src/protocol/philox.js';

const philox = new PhiloxStream();
const TWO_PI = 2 * Math.PI;

/** Keys the Philox stream with the seed and returns the view the fill writes. */
function target(ctx: KernelContext, ptr: number, count: number, dtype: number, seedLo: number, seedHi: number): Float32Array | Float64Array | Int32Array {
  philox.reset(seedLo, seedHi);
  if (dtype === RandomDType.float64) return ctx.f64(ptr, count);
  if (dtype === RandomDType.int32) return ctx.i32(ptr, count);
  return ctx.f32(ptr, count);
}

/** Uniform in [0, 1): one value per float32 element, two per float64 element. */
export function randomUniform(ctx: KernelContext, ptr: number, count: number, dtype: number, seedLo: number, seedHi: number, offset: number): void {
  const out = target(ctx, ptr, count, dtype, seedLo, seedHi);
  if (dtype === RandomDType.float64) {
    for (let i = 0; i < count; i++) out[i] = toUnitFloat64(philox.value(offset + 2 * i), philox.value(offset + 2 * i + 1));
  } else {
    for (let i = 0; i < count; i++) out[i] = toUnitFloat32(philox.value(offset + i));
  }
}

/** Normal(mean, std) by Box-Muller: two values per element. */
export function randomNormal(
  ctx: KernelContext,
  ptr: number,
  count: number,
  dtype: number,
  seedLo: number,
  seedHi: number,
  offset: number,
  mean: number,
  std: number,
): void {
  const out = target(ctx, ptr, count, dtype, seedLo, seedHi);
  for (let i = 0; i < count; i++) {
    const u1 = (philox.value(offset + 2 * i) + 1) * 2 ** -32; // (0, 1]: log is finite
    const u2 = philox.value(offset + 2 * i + 1) * 2 ** -32;
    out[i] = mean + std * Math.sqrt(-2 * Math.log(u1)) * Math.cos(TWO_PI * u2);
  }
}

/** Integers in [low, high): one value per element. */
export function randomInt(
  ctx: KernelContext,
  ptr: number,
  count: number,
  dtype: number,
  seedLo: number,
  seedHi: number,
  offset: number,
  low: number,
  high: number,
): void {
  const out = target(ctx, ptr, count, dtype, seedLo, seedHi);
  const range = high - low;
  for (let i = 0; i < count; i++) out[i] = low + Math.floor((philox.value(offset + i) * range) / 2 ** 32);
}

export * from './tensor-kernels.js';
export * from './tensor-linalg-kernels.js';

/** The command rt.faults.inject chose: fails as a real device error would (a lost worker for ERR_DEVICE_LOST). */
export function injectedFault(_ctx: KernelContext, code: number): void {
  const error = errorCodeFromNumber(code) ?? ErrorCode.LAUNCH_FAILURE;
  if (error === ErrorCode.DEVICE_LOST) process.exit(70);
  throw new OpenRegError(error, 'an injected fault (rt.faults.inject)');
}

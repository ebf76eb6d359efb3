/**
 * Kernels every device worker loads at start: the random fills behind rt.randomUniform,
 * rt.randomNormal and rt.randomInt. Element i of a fill at offset `offset` reads 32-bit
 * value number offset + i·k of the Philox stream (k = values per element), so a fill's
 * result depends only on seed, offset and element index.
 */
import type { KernelContext } from '../src/protocol/kernel-context.js';
import { ErrorCode, errorCodeFromNumber } from '../src/errors/error-code.js';
import { OpenRegError } from '../src/errors/openreg-error.js';
import { type TensorArg, typedKernel } from '../src/protocol/kernel-abi.js';
import { DTypeCode } from '../src/protocol/tensor-abi.js';
import { RandomKernel } from '../src/protocol/tensor-kernel-signatures.js';
import { PhiloxStream, toUnitFloat32, toUnitFloat64 } from '../src/protocol/philox.js';

const philox = new PhiloxStream();
const TWO_PI = 2 * Math.PI;

/** Keys the Philox stream with the seed and returns the view the fill writes (its memory was bounds-checked by the decoder). */
function target(out: TensorArg, seedLo: number, seedHi: number): Float32Array | Float64Array | Int32Array {
  philox.reset(seedLo, seedHi);
  if (out.dtype === DTypeCode.float64) return new Float64Array(out.memory, out.byteOffset, out.numel);
  if (out.dtype === DTypeCode.int32) return new Int32Array(out.memory, out.byteOffset, out.numel);
  if (out.dtype === DTypeCode.float32) return new Float32Array(out.memory, out.byteOffset, out.numel);
  throw new RangeError(`random fills write float32, float64 or int32, not dtype code ${out.dtype}`);
}

/** Uniform in [0, 1): one value per float32 element, two per float64 element. */
export const randomUniform = typedKernel(RandomKernel.uniform, (_ctx, { out, seedLo, seedHi, offset }) => {
  const v = target(out, seedLo, seedHi);
  const count = v.length;
  if (out.dtype === DTypeCode.float64) {
    for (let i = 0; i < count; i++) v[i] = toUnitFloat64(philox.value(offset + 2 * i), philox.value(offset + 2 * i + 1));
  } else {
    for (let i = 0; i < count; i++) v[i] = toUnitFloat32(philox.value(offset + i));
  }
});

/** Normal(mean, std) by Box-Muller: two values per element. */
export const randomNormal = typedKernel(RandomKernel.normal, (_ctx, { out, seedLo, seedHi, offset, mean, std }) => {
  const v = target(out, seedLo, seedHi);
  for (let i = 0; i < v.length; i++) {
    const u1 = (philox.value(offset + 2 * i) + 1) * 2 ** -32; // (0, 1]: log is finite
    const u2 = philox.value(offset + 2 * i + 1) * 2 ** -32;
    v[i] = mean + std * Math.sqrt(-2 * Math.log(u1)) * Math.cos(TWO_PI * u2);
  }
});

/** Integers in [low, high): one value per element. */
export const randomInt = typedKernel(RandomKernel.int, (_ctx, { out, seedLo, seedHi, offset, low, high }) => {
  const v = target(out, seedLo, seedHi);
  const range = high - low;
  for (let i = 0; i < v.length; i++) v[i] = low + Math.floor((philox.value(offset + i) * range) / 2 ** 32);
});

export * from './tensor-kernels.js';
export * from './tensor-linalg-kernels.js';

/** The command rt.faults.inject chose: fails as a real device error would (a lost worker for ERR_DEVICE_LOST). */
export function injectedFault(_ctx: KernelContext, code: number): void {
  const error = errorCodeFromNumber(code) ?? ErrorCode.LAUNCH_FAILURE;
  if (error === ErrorCode.DEVICE_LOST) process.exit(70);
  throw new OpenRegError(error, 'an injected fault (rt.faults.inject)');
}

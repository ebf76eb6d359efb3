import { invalidValue } from '../../errors/errors.js';
import { given, requireFinite, requireInteger, requireOneOf, requireOptions } from '../../errors/validate.js';
import type { DevicePtr } from '../../protocol/pointer.js';
import { RANDOM_DTYPE_BYTES, type RandomDType } from '../../protocol/random-dtype.js';
import { DTypeCode } from '../../protocol/tensor-abi.js';
import type { Stream } from '../../runtime/handles.js';
import type { Kernel, KernelModule } from '../../runtime/kernel-module.js';
import type { IntegrationContext } from '../../runtime/runtime-api.js';
import { Generator } from './generator.js';

/** Options shared by the random fills. */
export interface RandomOptions<D extends RandomDType> {
  /** Element type of the buffer. */
  dtype?: D;
  /** Generator to draw from; it must belong to the buffer's device. @default the device's default generator */
  generator?: Generator;
  /** Stream to fill on; it must be on the buffer's device. @default the device's current stream */
  stream?: Stream;
}

const FLOATS: readonly RandomDType[] = ['float32', 'float64'];
const ALL: readonly RandomDType[] = ['int32', 'float32', 'float64'];

/**
 * Per-device Philox generators and the random fills that draw from them. A fill reserves
 * its offsets on the host at launch, then a built-in kernel fills the buffer on its device.
 */
export class RandomFills {
  readonly #ctx: IntegrationContext;
  readonly #generators: (Generator | undefined)[] = [];
  readonly #uniform: Kernel;
  readonly #normal: Kernel;
  readonly #int: Kernel;

  /** `builtins` is the module of built-in kernels every worker loads. */
  constructor(ctx: IntegrationContext, builtins: KernelModule) {
    this.#ctx = ctx;
    this.#uniform = builtins.getFunction('randomUniform');
    this.#normal = builtins.getFunction('randomNormal');
    this.#int = builtins.getFunction('randomInt');
  }

  defaultGenerator(device?: unknown, call = 'defaultGenerator'): Generator {
    const d = this.#ctx.deviceOrCurrent(call, device);
    return (this.#generators[d] ??= new Generator(d));
  }

  newGenerator(device?: unknown, call = 'newGenerator'): Generator {
    return new Generator(this.#ctx.deviceOrCurrent(call, device));
  }

  manualSeed(seed: unknown): void {
    this.defaultGenerator(undefined, 'manualSeed').seedAs('manualSeed', seed);
  }

  manualSeedAll(seed: unknown): void {
    for (let d = 0; d < this.#ctx.deviceCount; d++) this.defaultGenerator(d, 'manualSeedAll').seedAs('manualSeedAll', seed);
  }

  seed(): bigint {
    return this.defaultGenerator(undefined, 'seed').seed();
  }

  initialSeed(): bigint {
    return this.defaultGenerator(undefined, 'initialSeed').initialSeed();
  }

  randomUniform(ptr: unknown, count: unknown, options?: unknown): void {
    const call = 'randomUniform';
    this.#ctx.open(call);
    const o = requireOptions<RandomOptions<RandomDType>>(call, options);
    this.#fill(call, this.#uniform, ptr, count, given(o.dtype, 'float32'), FLOATS, o, o.dtype === 'float64' ? 2 : 1, {});
  }

  randomNormal(ptr: unknown, count: unknown, options?: unknown): void {
    const call = 'randomNormal';
    this.#ctx.open(call);
    const o = requireOptions<RandomOptions<RandomDType> & { mean: number; std: number }>(call, options);
    const mean = requireFinite(call, 'options.mean', given(o.mean, 0));
    const std = requireFinite(call, 'options.std', given(o.std, 1), 0);
    this.#fill(call, this.#normal, ptr, count, given(o.dtype, 'float32'), FLOATS, o, 2, { mean, std });
  }

  randomInt(ptr: unknown, count: unknown, low: unknown, high: unknown, options?: unknown): void {
    const call = 'randomInt';
    this.#ctx.open(call);
    const o = requireOptions<RandomOptions<RandomDType>>(call, options);
    const dtype = given(o.dtype, 'int32');
    const [min, max] = dtype === 'int32' ? [-(2 ** 31), 2 ** 31] : [-(2 ** 53), 2 ** 53];
    if (typeof low !== 'number' || !Number.isSafeInteger(low) || low < min) throw invalidValue(call, `low must be an integer >= ${min}`, low);
    if (typeof high !== 'number' || !Number.isSafeInteger(high) || high > max || high <= low || high - low > 2 ** 32) {
      throw invalidValue(call, `high must be an integer in (low, min(low + 2^32, ${max})]`, high);
    }
    this.#fill(call, this.#int, ptr, count, dtype, ALL, o, 1, { low, high });
  }

  /** Reserves the generator's offsets at launch, then launches a built-in fill on the buffer's device. */
  #fill(
    call: string,
    kernel: Kernel,
    ptr: unknown,
    count: unknown,
    dtype: unknown,
    dtypes: readonly RandomDType[],
    options: Partial<RandomOptions<RandomDType>>,
    valuesPerElement: number,
    extra: Readonly<Record<string, number>>,
  ): void {
    const n = requireInteger(call, 'count', count, 0);
    const type = requireOneOf(call, 'options.dtype', dtype, dtypes);
    const bytes = RANDOM_DTYPE_BYTES[type];
    const device = this.#ctx.deviceRange(call, ptr, Math.max(1, n * bytes));
    // Caught here, not as a sticky error on the device: the kernel's view would be misaligned.
    if ((ptr as number) % bytes !== 0) throw invalidValue(call, `ptr must be aligned to ${bytes} bytes, the size of a ${type}`, ptr);
    const generator = options.generator === undefined ? this.defaultGenerator(device, call) : options.generator;
    if (!(generator instanceof Generator)) throw invalidValue(call, 'options.generator must be a Generator', generator);
    if (generator.device !== device) throw invalidValue(call, `the generator belongs to device ${generator.device} but the buffer is on device ${device}`);
    this.#ctx.launch(call, kernel, device, options.stream, () => {
      if (n === 0) return undefined;
      const [seedLo, seedHi] = generator.key;
      const offset = generator.reserve(n * valuesPerElement);
      const out = { dtype: DTypeCode[type], ptr: ptr as DevicePtr, shape: [n], strides: [1] };
      return { out, seedLo, seedHi, offset, ...extra };
    });
  }
}

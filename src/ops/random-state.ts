import { Runtime } from '../api/runtime.js';
import { invalidValue } from '../errors/errors.js';
import type { Generator } from '../integration/random/generator.js';
import { type DeviceLike, currentRuntime, openRuntime, resolveDevice } from '../tensor/device.js';
import { Tensor, asRaisedBy } from '../tensor/tensor.js';
import { cpuGenerator, tensor } from './factories.js';
import { requireArity } from '../errors/validate.js';

/** The generator of a device as a framework names it: cpu's, or an openreg device's default. */
function generatorOf(call: string, device: DeviceLike | undefined): Generator {
  const d = resolveDevice(call, device === undefined ? 'openreg' : device);
  if (d.type === 'cpu') return cpuGenerator;
  if (d.type === 'meta') throw invalidValue(call, 'the meta device has no generator', String(device));
  return currentRuntime(call).defaultGenerator(d.index!);
}

/** The generator state of a device (`torch.openreg.get_rng_state(d)`): a uint8 cpu tensor (seed, offset). */
export function getRngState(device?: DeviceLike): Tensor {
  requireArity('getRngState', arguments, 1);
  const state = generatorOf('getRngState', device).getState();
  return tensor(Array.from(state), { dtype: 'uint8' });
}

/** Restores a state from getRngState; the next draws on that device repeat. */
export function setRngState(state: Tensor | Uint8Array, device?: DeviceLike): void {
  requireArity('setRngState', arguments, 2);
  const call = 'setRngState';
  let bytes: Uint8Array;
  if (state instanceof Uint8Array) bytes = state;
  else if (Tensor.isGenuine(state) && state.dtype === 'uint8' && state.device.type === 'cpu') {
    try {
      bytes = state.dataSync() as Uint8Array;
    } catch (error) {
      throw asRaisedBy(call, error);
    }
  }
  else throw invalidValue(call, 'state must be a uint8 cpu Tensor from getRngState or a Uint8Array', state instanceof Tensor ? state.toString() : state);
  const generator = generatorOf(call, device);
  try {
    generator.setState(bytes);
  } catch (error) {
    throw asRaisedBy(call, error);
  }
}

/** Seeds every generator: the host's and each openreg device's (`torch.manual_seed`). */
export function manualSeed(seed: number | bigint): void {
  requireArity('manualSeed', arguments, 1);
  cpuGenerator.seedAs('manualSeed', seed);
  // Before first use, the runtime lazy initialization starts is seeded with it.
  const rt = openRuntime();
  if (rt === undefined) Runtime.seedLazy(seed);
  else rt.manualSeedAll(seed);
}

import { invalidValue } from '../errors/errors.js';
import { Generator } from '../integration/random/generator.js';
import { PhiloxStream, toUnitFloat32, toUnitFloat64 } from '../protocol/philox.js';
import type { Tensor } from '../tensor/tensor.js';

/** The host's generator (`torch.default_generator`): cpu tensors' random fills draw from it. */
export const cpuGenerator = new Generator(-1);
const philox = new PhiloxStream();

/** Fills contiguous float32/float64 host tensor `t` from `generator` (the host's by default). */
export function fillHostRandom(t: Tensor, normal: boolean, generator: Generator | undefined): void {
  const g = generator ?? cpuGenerator;
  if (g.device !== -1) throw invalidValue(normal ? 'randn' : 'rand', `the generator belongs to openreg:${g.device}, not to cpu`);
  hostRandom(g, t, normal);
}

/** The device kernels' draws, computed on the host: element i reads Philox values offset + k·i … */
function hostRandom(g: Generator, t: Tensor, normal: boolean): void {
  const n = t.numel();
  if (n === 0) return;
  const per = normal || t.dtype === 'float64' ? 2 : 1;
  const [lo, hi] = g.key;
  const offset = g.reserve(n * per);
  philox.reset(lo, hi);
  const s = t.storage('rand');
  const out = t.dtype === 'float64' ? new Float64Array(s.buffer!, s.byteOffset, n) : new Float32Array(s.buffer!, s.byteOffset, n);
  for (let i = 0; i < n; i++) {
    if (normal) {
      const u1 = (philox.value(offset + 2 * i) + 1) * 2 ** -32;
      const u2 = philox.value(offset + 2 * i + 1) * 2 ** -32;
      out[i] = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    } else {
      out[i] = per === 2 ? toUnitFloat64(philox.value(offset + 2 * i), philox.value(offset + 2 * i + 1)) : toUnitFloat32(philox.value(offset + i));
    }
  }
}


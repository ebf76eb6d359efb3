import { invalidValue } from '../errors/errors.js';
import { Tensor } from '../tensor/tensor.js';

/** The tensors made by Parameter(): a module's properties holding one of these are its parameters. */
const PARAMETERS = new WeakSet<Tensor>();

/**
 * PyTorch's `nn.Parameter(data)`: a leaf sharing `data`'s storage that requires grad (unless
 * `requiresGrad` is false), marked so that a Module holding it in a property lists it among
 * its parameters.
 */
export function Parameter(data: Tensor, requiresGrad = true): Tensor {
  if (!(data instanceof Tensor)) throw invalidValue('Parameter', 'data must be a Tensor', data);
  if (typeof requiresGrad !== 'boolean') throw invalidValue('Parameter', 'requiresGrad must be a boolean', requiresGrad);
  const p = data.detach();
  if (requiresGrad) p.requiresGrad_();
  PARAMETERS.add(p);
  return p;
}

/** True for a tensor made by Parameter(). */
export function isParameter(value: unknown): value is Tensor {
  return value instanceof Tensor && PARAMETERS.has(value);
}

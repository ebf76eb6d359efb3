import { invalidValue } from '../../errors/errors.js';
import { isGradEnabled, noGrad } from '../../tensor/grad-mode.js';
import { Tensor } from '../../tensor/tensor.js';
import { record } from './engine.js';

/** What forward leaves for backward (`ctx` in torch.autograd.Function). */
export class FunctionContext {
  /** For each argument: true if it is a tensor that requires grad. */
  readonly needsInputGrad: readonly boolean[];
  /** Anything else forward wants backward to have. */
  readonly state: Record<string, unknown> = {};
  #saved: Tensor[] = [];

  /** @internal */
  constructor(args: readonly unknown[]) {
    this.needsInputGrad = args.map((a) => a instanceof Tensor && a.requiresGrad);
  }

  /** Keeps tensors for backward; they must not be disposed before backward has run. */
  saveForBackward(...tensors: Tensor[]): void {
    tensors.forEach((t, i) => {
      if (!(t instanceof Tensor)) throw invalidValue('saveForBackward', `argument ${i} must be a Tensor`, t);
    });
    this.#saved = tensors;
  }

  get savedTensors(): readonly Tensor[] {
    return this.#saved;
  }
}

/** The static side of a user function: what `AutogradFunction.apply` calls. */
export interface AutogradFunctionClass {
  readonly name: string;
  forward(ctx: FunctionContext, ...args: never[]): Tensor;
  backward(ctx: FunctionContext, grad: Tensor): Tensor | undefined | readonly (Tensor | undefined)[];
}

/**
 * A differentiable function written by the user, in the shape of `torch.autograd.Function`:
 * subclass it with static `forward(ctx, ...args)` and `backward(ctx, grad)` (gradients by
 * argument position), then call `MyFn.apply(...args)`. forward runs with grad mode off.
 */
export abstract class AutogradFunction {
  static forward(_ctx: FunctionContext, ..._args: never[]): Tensor {
    throw invalidValue(`${this.name}.forward`, 'a subclass of AutogradFunction must define static forward(ctx, ...args)');
  }

  static backward(_ctx: FunctionContext, _grad: Tensor): Tensor | undefined | readonly (Tensor | undefined)[] {
    throw invalidValue(`${this.name}.backward`, 'a subclass of AutogradFunction must define static backward(ctx, grad)');
  }

  static apply(this: AutogradFunctionClass, ...args: unknown[]): Tensor {
    for (const a of args) if (a instanceof Tensor && !Tensor.isGenuine(a)) throw invalidValue(`${this.name}.apply`, 'expected a Tensor made by openreg, got an object that only looks like one', a);
    const ctx = new FunctionContext(args);
    const forward = this.forward as (ctx: FunctionContext, ...args: unknown[]) => Tensor;
    const out = noGrad(() => forward.call(this, ctx, ...args));
    if (!(out instanceof Tensor)) throw invalidValue(`${this.name}.forward`, 'must return a Tensor', out);
    if (isGradEnabled()) {
      const name = `${this.name}Backward`;
      record(out, name, args, (g) => {
        const returned: unknown = this.backward(ctx, g);
        const grads: unknown[] = Array.isArray(returned) ? returned : [returned];
        // PyTorch checks what a user's backward returns: one gradient (or none) per argument, each shaped like it.
        if (grads.length > args.length) throw invalidValue('backward', `${name} returned an incorrect number of gradients (expected ${args.length}, got ${grads.length})`);
        return grads.map((grad, i) => {
          if (grad === undefined || grad === null) return undefined;
          const input = args[i];
          if (!(grad instanceof Tensor)) throw invalidValue('backward', `${name} returned an invalid gradient at index ${i}: expected a Tensor or undefined`, grad);
          if (input instanceof Tensor && grad.shape.join() !== input.shape.join()) {
            throw invalidValue('backward', `${name} returned an invalid gradient at index ${i} - got [${grad.shape.join(', ')}] but expected shape compatible with [${input.shape.join(', ')}]`);
          }
          return grad;
        });
      });
    }
    return out;
  }
}

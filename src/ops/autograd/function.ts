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
    const ctx = new FunctionContext(args);
    const forward = this.forward as (ctx: FunctionContext, ...args: unknown[]) => Tensor;
    const out = noGrad(() => forward.call(this, ctx, ...args));
    if (!(out instanceof Tensor)) throw invalidValue(`${this.name}.forward`, 'must return a Tensor', out);
    if (isGradEnabled()) {
      record(out, `${this.name}Backward`, args, (g) => {
        const grads = this.backward(ctx, g);
        return Array.isArray(grads) ? (grads as (Tensor | undefined)[]) : [grads as Tensor | undefined];
      });
    }
    return out;
  }
}

import { invalidValue } from '../../errors/errors.js';
import { isGradEnabled, noGrad } from '../../tensor/grad-mode.js';
import { Tensor } from '../../tensor/tensor.js';
import { outputsOf, perTensorInput, recordNode, tensorInputs } from './graph.js';

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
  forward(ctx: FunctionContext, ...args: never[]): Tensor | readonly Tensor[];
  /** One gradient per output (zeros for an output nothing flowed into); returns one per argument. */
  backward(ctx: FunctionContext, ...grads: Tensor[]): Tensor | undefined | readonly (Tensor | undefined | readonly (Tensor | undefined)[])[];
}

/**
 * A differentiable function written by the user, in the shape of `torch.autograd.Function`:
 * subclass it with static `forward(ctx, ...args)` (a Tensor, or an array of them) and
 * `backward(ctx, ...grads)` (one gradient per output in; one per argument out, an array for
 * a Tensor[] argument), then call `MyFn.apply(...args)`. forward runs with grad mode off.
 */
export abstract class AutogradFunction {
  static forward(_ctx: FunctionContext, ..._args: never[]): Tensor | readonly Tensor[] {
    throw invalidValue(`${this.name}.forward`, 'a subclass of AutogradFunction must define static forward(ctx, ...args)');
  }

  static backward(_ctx: FunctionContext, ..._grads: Tensor[]): Tensor | undefined | readonly (Tensor | undefined | readonly (Tensor | undefined)[])[] {
    throw invalidValue(`${this.name}.backward`, 'a subclass of AutogradFunction must define static backward(ctx, ...grads)');
  }

  static apply<C extends AutogradFunctionClass>(this: C, ...args: unknown[]): ReturnType<C['forward']> {
    for (const a of tensorInputs(args)) if (!Tensor.isGenuine(a)) throw invalidValue(`${this.name}.apply`, 'expected a Tensor made by openreg, got an object that only looks like one', a);
    const ctx = new FunctionContext(args);
    const forward = this.forward as (ctx: FunctionContext, ...args: unknown[]) => unknown;
    const out = noGrad(() => forward.call(this, ctx, ...args));
    const outputs = outputsOf(out);
    if (outputs.length === 0 || !outputs.every((o) => Tensor.isGenuine(o))) throw invalidValue(`${this.name}.forward`, 'must return a Tensor or an array of Tensors', out);
    if (isGradEnabled()) {
      const name = `${this.name}Backward`;
      const backward = this.backward.bind(this) as (ctx: FunctionContext, ...grads: Tensor[]) => unknown;
      recordNode(name, tensorInputs(args), outputs, (grads) => checkedGradients(name, args, backward(ctx, ...grads)), ctx.savedTensors, false);
    }
    return out as ReturnType<C['forward']>;
  }
}

/** A backward's result as one entry per argument: a lone gradient (or a lone list, for a single Tensor[] argument) may come bare. */
function perArgument(args: readonly unknown[], returned: unknown): unknown[] {
  if (!Array.isArray(returned)) return [returned];
  const listArg = (i: number) => Array.isArray(args[i]);
  const perArg = returned.length <= args.length && returned.every((g, i) => (listArg(i) ? g === undefined || g === null || Array.isArray(g) : !Array.isArray(g)));
  if (!perArg && args.length === 1 && listArg(0)) return [returned];
  return returned;
}

/**
 * What a user's backward returned, checked as PyTorch checks it (one gradient or none per
 * argument, each shaped like it), one per tensor input.
 */
export function checkedGradients(name: string, args: readonly unknown[], returned: unknown): (Tensor | undefined)[] {
  const grads = perArgument(args, returned);
  if (grads.length > args.length) throw invalidValue('backward', `${name} returned an incorrect number of gradients (expected ${args.length}, got ${grads.length})`);
  const perInput = perTensorInput(args, grads, name);
  const inputs = tensorInputs(args);
  perInput.forEach((g, i) => {
    const input = inputs[i]!;
    if (g !== undefined && g.shape.join() !== input.shape.join()) {
      throw invalidValue('backward', `${name} returned an invalid gradient at index ${i} - got [${g.shape.join(', ')}] but expected shape compatible with [${input.shape.join(', ')}]`);
    }
  });
  return perInput;
}

import { Tensor, asRaisedBy, tooManyArguments } from '../tensor/tensor.js';

/**
 * Composite ops (PyTorch's CompositeImplicitAutograd): defined by the ops they call, so every
 * backend runs them and autograd differentiates them through those ops. One definition gives
 * the Tensor method and/or the function, with errors naming the call the user made, and the
 * row of the op reference.
 */
export interface CompositeDefinition<F extends (...args: never[]) => unknown> {
  readonly name: string;
  /** The Tensor method (self is the first argument of `fn`). */
  readonly method?: string;
  /** The name the package exports the function under. */
  readonly function?: string;
  /** Most arguments the method takes after self: more are refused, never ignored. */
  readonly maxArgs?: number;
  readonly fn: F;
  readonly doc: string;
}

export interface DefinedComposite {
  readonly name: string;
  readonly method: string | undefined;
  readonly function: string | undefined;
  readonly doc: string;
}

const composites: DefinedComposite[] = [];

/** Every composite op, in definition order (the op reference lists them). */
export function definedComposites(): readonly DefinedComposite[] {
  return composites;
}

/** Defines a composite op; returns its function (errors name `name`, or the method when called as one). */
export function defineComposite<F extends (...args: never[]) => unknown>(definition: CompositeDefinition<F>): F {
  const { name, method, fn } = definition;
  const wrap = (call: string) =>
    function (this: unknown, ...args: unknown[]): unknown {
      try {
        return (fn as unknown as (...a: unknown[]) => unknown)(...args);
      } catch (error) {
        throw asRaisedBy(call, error);
      }
    };
  if (method !== undefined) {
    if (Object.hasOwn(Tensor.prototype, method)) throw new Error(`defineComposite: Tensor already has a method ${method}`);
    const body = wrap(method);
    const max = definition.maxArgs;
    Object.defineProperty(Tensor.prototype, method, {
      value: {
        [method](this: Tensor, ...args: unknown[]): unknown {
          if (max !== undefined && args.length > max) throw tooManyArguments(method, max, args.length);
          return body(this, ...args);
        },
      }[method],
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }
  composites.push({ name, method, function: definition.function, doc: definition.doc });
  return wrap(definition.function ?? name) as unknown as F;
}

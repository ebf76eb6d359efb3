import { invalidValue } from '../errors/errors.js';
import { requireFunction, requireOneOf } from '../errors/validate.js';
import { type DispatchKey, dispatchKeys } from '../dispatch/dispatcher.js';
import { dispatcher } from '../dispatch/registry.js';
import { noGrad } from '../tensor/grad-mode.js';
import { type TensorDevice, resolveDevice } from '../tensor/device.js';
import { Tensor, op, tensorsIn } from '../tensor/tensor.js';
import { FunctionContext } from './autograd/function.js';
import { record } from './autograd/engine.js';
import './builtins.js';

/** A kernel as a library registers it: the op's arguments in schema order, the result returned. */
export type LibraryKernel = (...args: never[]) => unknown;

/** Backward of a custom op: the gradients of its arguments (by position) from the output's. */
export type LibraryBackward = (ctx: FunctionContext, grad: Tensor) => Tensor | undefined | readonly (Tensor | undefined)[];

/**
 * A namespace of operators (`torch.library.Library`): define ops from schemas, implement
 * them per dispatch key (`openreg`, `cpu`, `meta`, `Autograd`, `Autocast`), register their
 * autograd. `dispose()` removes everything it registered.
 */
export class Library implements Disposable {
  readonly namespace: string;
  readonly #disposers: (() => void)[] = [];

  constructor(namespace: string) {
    if (typeof namespace !== 'string' || !/^[A-Za-z_]\w*$/.test(namespace)) throw invalidValue('Library', 'namespace must be an identifier', namespace);
    this.namespace = namespace;
  }

  /** Defines an op from its schema (`'custom_abs(Tensor input) -> Tensor'`, or with this namespace written); returns its qualified name. */
  define(schema: string): string {
    const text = typeof schema === 'string' && !schema.slice(0, schema.indexOf('(')).includes('::') ? `${this.namespace}::${schema}` : schema;
    const name = dispatcher.define('library.define', text);
    if (!name.startsWith(`${this.namespace}::`)) {
      dispatcher.undefine(name);
      throw invalidValue('library.define', `the op must be in namespace ${this.namespace}`, schema);
    }
    this.#disposers.push(() => dispatcher.undefine(name));
    return name;
  }

  /** Registers `kernel` for op `name` at dispatch `key` (unboxed: the kernel gets the op's arguments). */
  impl(name: string, key: DispatchKey, kernel: LibraryKernel): this {
    const call = 'library.impl';
    const k = requireOneOf(call, 'key', key, dispatchKeys());
    const fn = requireFunction<(...args: unknown[]) => unknown>(call, 'kernel', kernel);
    this.#disposers.push(dispatcher.impl(call, this.#qualified(name), k, (_next, ...args) => fn(...args)));
    return this;
  }

  /**
   * The op's backward (`torch.library.register_autograd`): `setupContext(ctx, inputs, output)`
   * saves what `backward(ctx, grad)` needs.
   */
  registerAutograd(name: string, backward: LibraryBackward, options?: { setupContext?: (ctx: FunctionContext, inputs: readonly unknown[], output: unknown) => void }): this {
    const call = 'library.registerAutograd';
    const back = requireFunction<LibraryBackward>(call, 'backward', backward);
    const setup = options?.setupContext === undefined ? undefined : requireFunction<(ctx: FunctionContext, inputs: readonly unknown[], output: unknown) => void>(call, 'options.setupContext', options.setupContext);
    const qualified = this.#qualified(name);
    this.#disposers.push(
      dispatcher.impl(call, qualified, 'Autograd', (next, ...args) => {
        const out = noGrad(() => next(...args));
        const ctx = new FunctionContext(args);
        setup?.(ctx, args, out);
        record(out, `${qualified}Backward`, args, (g) => {
          const grads = back(ctx, g);
          return Array.isArray(grads) ? (grads as (Tensor | undefined)[]) : [grads as Tensor | undefined];
        });
        return out;
      }),
    );
    return this;
  }

  dispose(): void {
    for (const d of this.#disposers.splice(0).reverse()) d();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  #qualified(name: string): string {
    if (typeof name !== 'string') throw invalidValue('library.impl', 'name must be a string', name);
    return name.includes('::') ? name : `${this.namespace}::${name}`;
  }
}

/**
 * Calls an op by name (`torch.ops.myns.custom_abs(x)`): dispatched on its tensor arguments,
 * or on `options.device` when it has none.
 */
export function callOp(name: string, ...args: unknown[]): unknown {
  const call = typeof name === 'string' ? name : 'callOp';
  if (!dispatcher.has(call)) throw invalidValue('callOp', 'no operator of that name is defined', name);
  const backend: TensorDevice | undefined = tensorsIn(args).length === 0 ? resolveDevice(call, findDevice(args)) : undefined;
  return op(call, call, args, backend);
}

function findDevice(args: readonly unknown[]): string | TensorDevice | undefined {
  for (const a of args) if (a !== null && typeof a === 'object' && !(a instanceof Tensor) && 'device' in a) return (a as { device: string }).device;
  return undefined;
}

/** The backends with their own kernel for an op (the op table in the README comes from this). */
export function kernelsOf(name: string): DispatchKey[] {
  if (typeof name !== 'string') throw invalidValue('kernelsOf', 'name must be an operator name', name);
  return dispatchKeys().filter((k) => dispatcher.hasKernel(name.includes('::') ? name : `aten::${name}`, k));
}

/** Qualified names of every defined operator (builtin and from libraries). */
export function operatorNames(): string[] {
  return dispatcher.names();
}

import { invalidValue } from '../errors/errors.js';
import { requireFunction, requireOneOf, requireOptions, requireArity } from '../errors/validate.js';
import { type DispatchKey, registrationKeys } from '../dispatch/dispatcher.js';
import { dispatcher } from '../dispatch/registry.js';
import type { OperatorSchema, SchemaReturn } from '../dispatch/schema.js';
import { typeCheckOf } from '../tensor/argument-binding.js';
import { excludingKey } from '../dispatch/dispatch-state.js';
import { TensorDevice, resolveDevice } from '../tensor/device.js';
import { Tensor, bindArguments, op, tensorsIn } from '../tensor/tensor.js';
import { FunctionContext, checkedGradients } from './autograd/function.js';
import { checkInPlace, outputsOf, recordNode, tensorInputs } from './autograd/graph.js';
import './builtins.js';

/** A kernel as a library registers it: the op's arguments in schema order, the result returned. */
export type LibraryKernel = (...args: never[]) => unknown;

/** Backward of a custom op: the gradients of its arguments (by position) from the output's. */
/** An op's backward: one gradient per output in (zeros where none flowed), one per argument out (an array for a Tensor[] one). */
export type LibraryBackward = (ctx: FunctionContext, ...grads: Tensor[]) => Tensor | undefined | readonly (Tensor | undefined | readonly (Tensor | undefined)[])[];

/**
 * A namespace of operators (`torch.library.Library`): define ops from schemas, implement
 * them per dispatch key (`openreg`, `cpu`, `meta`, `Autograd`, `Autocast`), register their
 * autograd. `dispose()` removes everything it registered.
 */
export class Library implements Disposable {
  readonly namespace: string;
  readonly #disposers: (() => void)[] = [];
  #disposed = false;

  constructor(namespace: string) {
    requireArity('Library', arguments, 1);
    if (typeof namespace !== 'string' || !/^[A-Za-z_]\w*$/.test(namespace)) throw invalidValue('Library', 'namespace must be an identifier', namespace);
    this.namespace = namespace;
  }

  /** Defines an op from its schema (`'custom_abs(Tensor input) -> Tensor'`, or with this namespace written); returns its qualified name. */
  define(schema: string): string {
    requireArity('library.define', arguments, 1);
    this.#alive('library.define');
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
    requireArity('library.impl', arguments, 3);
    const call = 'library.impl';
    this.#alive(call);
    const k = requireOneOf(call, 'key', key, registrationKeys());
    const fn = requireFunction<(...args: unknown[]) => unknown>(call, 'kernel', kernel);
    this.#disposers.push(dispatcher.impl(call, this.#qualified(call, name), k, (_next, ...args) => fn(...args)));
    return this;
  }

  /**
   * The op's backward (`torch.library.register_autograd`): `setupContext(ctx, inputs, output)`
   * saves what `backward(ctx, grad)` needs.
   */
  registerAutograd(name: string, backward: LibraryBackward, options?: { setupContext?: (ctx: FunctionContext, inputs: readonly unknown[], output: unknown) => void }): this {
    requireArity('library.registerAutograd', arguments, 3);
    const call = 'library.registerAutograd';
    this.#alive(call);
    const back = requireFunction<LibraryBackward>(call, 'backward', backward);
    const o = requireOptions<{ setupContext: unknown }>(call, options, 'options', ['setupContext']);
    const setup = o.setupContext === undefined ? undefined : requireFunction<(ctx: FunctionContext, inputs: readonly unknown[], output: unknown) => void>(call, 'options.setupContext', o.setupContext);
    const qualified = this.#qualified(call, name);
    this.#disposers.push(
      dispatcher.impl(call, qualified, 'Autograd', (next, ...args) => {
        checkInPlace(dispatcher.schema(call, qualified), args);
        const out = excludingKey('Autograd', () => next(...args));
        const ctx = new FunctionContext(args);
        setup?.(ctx, args, out);
        const name = `${qualified}Backward`;
        // One node for all outputs (a returned argument is not one of them); the user's gradients are checked like AutogradFunction's.
        const outputs = outputsOf(out).map((o) => (args.includes(o) ? undefined : o));
        recordNode(name, tensorInputs(args), outputs, (grads) => checkedGradients(name, args, back(ctx, ...grads)), ctx.savedTensors, false);
        return out;
      }),
    );
    return this;
  }

  dispose(): void {
    requireArity('library.dispose', arguments, 0);
    this.#disposed = true;
    for (const d of this.#disposers.splice(0).reverse()) d();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  #alive(call: string): void {
    if (this.#disposed) throw invalidValue(call, `library ${this.namespace} was disposed; create a new Library to register again`);
  }

  #qualified(call: string, name: string): string {
    if (typeof name !== 'string') throw invalidValue(call, 'name must be a string', name);
    return name.includes('::') ? name : `${this.namespace}::${name}`;
  }
}

/**
 * Calls an op by name (`torch.ops.myns.custom_abs(x)`) with its arguments in schema order,
 * keyword-only ones included; trailing ones with defaults may be left out. Each argument is
 * checked against its schema type, and the result against the return types. The call is
 * dispatched on its tensor arguments, or, with none, on its `Device` argument (cpu without one).
 */
export function callOp(name: string, ...args: unknown[]): unknown {
  const call = 'callOp';
  if (typeof name !== 'string' || !dispatcher.has(name)) throw invalidValue(call, 'no operator of that name is defined', name);
  const schema = dispatcher.schema(call, name);
  const bound = bindArguments(call, schema.qualifiedName, args);
  const inputs = tensorsIn(bound);
  const device = inputs.length === 0 ? (deviceArgument(schema, bound) ?? resolveDevice(call, undefined)) : inputs[0]!.device;
  const result = op(call, schema.qualifiedName, bound, inputs.length === 0 ? device : undefined);
  try {
    checkResult(call, schema, bound, device, result);
  } catch (error) {
    // The refused result is nobody's: free the tensors the kernel made (not the arguments it returned).
    const returned = result instanceof Tensor ? [result] : Array.isArray(result) ? result : [];
    for (const t of returned) if (Tensor.isGenuine(t) && !inputs.includes(t) && !t.disposed) t.dispose();
    throw error;
  }
  return result;
}

function deviceArgument(schema: OperatorSchema, args: readonly unknown[]): TensorDevice | undefined {
  for (let i = 0; i < args.length; i++) if (args[i] instanceof TensorDevice && schema.args[i]!.type.startsWith('Device')) return args[i] as TensorDevice;
  return undefined;
}

/**
 * Checks what the kernels returned against the schema's return types: the types, the
 * argument a `Tensor(a!)` return must be, and the device (the inputs', or a Device argument's).
 */
function checkResult(call: string, schema: OperatorSchema, args: readonly unknown[], device: TensorDevice, result: unknown): void {
  const returns = schema.returns;
  const arrow = returns.length === 1 ? returnText(returns[0]!) : `(${returns.map(returnText).join(', ')})`;
  const fail = (problem: string, value: unknown): never => {
    throw invalidValue(call, `${schema.qualifiedName}: ${problem} (the schema returns ${arrow})`, value);
  };
  if (returns.length === 0) {
    if (result !== undefined) fail('the kernel must return nothing', result);
    return;
  }
  if (returns.length > 1 && (!Array.isArray(result) || result.length !== returns.length)) fail(`the kernel must return an array of ${returns.length} values`, result);
  for (let r = 0; r < returns.length; r++) {
    const ret = returns[r]!;
    const value = returns.length === 1 ? result : (result as unknown[])[r];
    const check = typeCheckOf(ret.type, (v) => v instanceof Tensor);
    if (!check.test(value)) fail(`the kernel must return ${check.what}${returns.length > 1 ? ` as result ${r}` : ''}`, value);
    if (ret.alias?.write === true) {
      const i = schema.args.findIndex((a) => a.alias?.set === ret.alias!.set);
      if (value !== args[i]) fail(`the kernel must return its argument '${schema.args[i]!.name}', which it writes`, value);
    }
    for (const t of value instanceof Tensor ? [value] : Array.isArray(value) ? value : []) {
      if (!(t instanceof Tensor) || t.device.equals(device) || deviceArgumentIs(schema, args, t.device)) continue;
      fail(`the kernel returned a tensor on ${t.device}, but the op runs on ${device}`, t.toString());
    }
  }
}

function deviceArgumentIs(schema: OperatorSchema, args: readonly unknown[], device: TensorDevice): boolean {
  return args.some((a, i) => a instanceof TensorDevice && schema.args[i]!.type.startsWith('Device') && a.equals(device));
}

const returnText = (r: SchemaReturn): string => (r.alias === undefined ? r.type : r.type.replace(/^Tensor/, `Tensor(${r.alias.set}${r.alias.write ? '!' : ''})`));

/** The backends with their own kernel for an op (the op table in the README comes from this). */
export function kernelsOf(name: string): DispatchKey[] {
  requireArity('kernelsOf', arguments, 1);
  if (typeof name !== 'string') throw invalidValue('kernelsOf', 'name must be an operator name', name);
  return registrationKeys().filter((k) => dispatcher.hasKernel(name.includes('::') ? name : `aten::${name}`, k));
}

/** Qualified names of every defined operator (builtin and from libraries). */
export function operatorNames(): string[] {
  requireArity('operatorNames', arguments, 0);
  return dispatcher.names();
}

import { invalidValue } from '../errors/errors.js';
import type { BackendKey } from '../dispatch/dispatcher.js';
import { dispatcher } from '../dispatch/registry.js';
import { type OperatorSchema, parseSchema } from '../dispatch/schema.js';
import { type TypeCheck, typeCheckOf } from '../tensor/argument-binding.js';
import { DTYPES, type DType } from '../tensor/dtype.js';
import { broadcastShapes, checkNoInternalOverlap } from '../tensor/shape.js';
import { Tensor, op, tooManyArguments } from '../tensor/tensor.js';
import { maskedFormula } from './autograd/formula.js';
import type { Executor } from './executor.js';
import { defineBuiltin } from './register.js';

/**
 * One op in one place (PyTorch's native_functions.yaml and derivatives.yaml entries as one
 * TypeScript definition): its functional overloads, the in-place and `out=` forms generated
 * from them, the shape/dtype rule, the kernel every backend runs through its executor, the
 * derivative of each argument by name, the autocast category, the Tensor method and the doc
 * row. Arguments reach the rule, the kernel and the derivatives by name, bound to the schema.
 */

/** An op call's arguments by schema name. */
export type OpArgs = Readonly<Record<string, unknown>>;

/** What the shape/dtype rule decides (it may carry more for the kernel, e.g. the dtype operands meet in). */
export interface OpResult {
  readonly shape: readonly number[];
  readonly dtype: DType;
}

export type AutocastCategory = 'lowerPrecision' | 'float32' | 'promote';

export interface OpDefinition<A extends OpArgs, R extends OpResult> {
  /** The functional overloads, in the order a method call tries them: `'add.Tensor(Tensor self, Tensor other, *, Scalar alpha=1) -> Tensor'`. */
  readonly schemas: readonly string[];
  /** The Tensor method's name (the op's name when omitted), or false for none. */
  readonly method?: string | false;
  /** The name of a function variant (`torch.cat`): `DefinedOp.call`, which the package exports under that name. */
  readonly function?: string;
  /** Generates `name_.overload(Tensor(a!) self, …) -> Tensor(a!)` per overload, and the method `name_`. */
  readonly inplace?: boolean;
  /** Generates `name.out(…, *, Tensor(a!) out) -> Tensor(a!)` from the first overload. */
  readonly out?: boolean;
  /** The shape and dtype of the result (PyTorch's meta function); it refuses what the op cannot compute. */
  readonly result: (call: string, args: A) => R;
  /** Computes into `out` (a new tensor, the `out=` argument, or self in place) on the call's executor. */
  readonly kernel: (call: string, ex: Executor, out: Tensor, args: A, result: R) => void;
  /** The backends with a kernel (every one by default: device backends, cpu, meta); others take their fallback. */
  readonly backends?: readonly BackendKey[];
  /** Backends for one overload (by overload name) where they differ: `{ Tensor: ['cpu', 'meta'] }`. */
  readonly overloadBackends?: Readonly<Record<string, readonly BackendKey[]>>;
  /** The gradient of each differentiable argument, by name, from the result's gradient (one per element of a `Tensor[]`). */
  readonly derivatives?: { readonly [K in keyof A]?: (grad: Tensor, args: A, result: Tensor) => Tensor | readonly Tensor[] };
  /** The overloads the derivatives hold for (all by default); the others' backward is an error naming the op. */
  readonly derivativeOverloads?: readonly string[];
  /** What the derivatives read (argument names, or 'result'): version-checked at backward. */
  readonly saves?: readonly (keyof A & string | 'result')[];
  /** Under autocast: run in the lower precision, in float32, or in the widest input type. */
  readonly autocast?: AutocastCategory;
  /** One line for the op reference. */
  readonly doc: string;
}

/** What the registry keeps of a definition: the reference row and what the tests check. */
export interface DefinedOp {
  readonly name: string;
  readonly functional: readonly string[];
  readonly inplace: readonly string[];
  readonly out: string | undefined;
  readonly method: string | undefined;
  readonly inplaceMethod: string | undefined;
  readonly function: string | undefined;
  /** The function variant: dispatches to the overload the arguments fit. */
  readonly call: (...args: unknown[]) => unknown;
  readonly differentiable: readonly string[];
  readonly autocast: AutocastCategory | undefined;
  readonly backends: readonly BackendKey[] | undefined;
  readonly overloadBackends: Readonly<Record<string, readonly BackendKey[]>> | undefined;
  readonly derivativeOverloads: readonly string[] | undefined;
  readonly doc: string;
}

const definitions: DefinedOp[] = [];

/** Every op defined with defineOp, in definition order. */
export function definedOps(): readonly DefinedOp[] {
  return definitions;
}

/** Named arguments from a call's bound positional ones. */
function named(schema: OperatorSchema, args: readonly unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < schema.args.length; i++) out[schema.args[i]!.name] = args[i];
  return out;
}

/** `name_.overload(Tensor(a!) self, …) -> Tensor(a!)` from a functional schema. */
function inplaceSchema(text: string, schema: OperatorSchema): string {
  const head = `${schema.name}_${schema.overload === '' ? '' : `.${schema.overload}`}`;
  const args = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')', text.indexOf('->')));
  return `${head}(${args.replace(/^\s*Tensor self/, 'Tensor(a!) self')}) -> Tensor(a!)`;
}

/** `name.out(…, *, Tensor(a!) out) -> Tensor(a!)` from a functional schema. */
function outSchema(text: string, schema: OperatorSchema): string {
  const args = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')', text.indexOf('->')));
  return `${schema.name}.out(${args}${schema.args.some((a) => a.kwargOnly) ? '' : ', *'}, Tensor(a!) out) -> Tensor(a!)`;
}

const RANK = { bool: 0, integral: 1, floating: 2 } as const;

/** PyTorch's canCast: no cast to a lower category (float into an int tensor, int into bool). */
export function checkCast(call: string, from: DType, to: DType): void {
  if (RANK[DTYPES[from].category] > RANK[DTYPES[to].category]) throw invalidValue(call, `result type ${from} can't be cast to the desired output type ${to}`);
}

/** A tensor given to be written (`out=`) must be non-overlapping, of the result's shape, and able to hold its dtype. */
export function checkOut(call: string, out: Tensor, shape: readonly number[], dtype: DType): void {
  checkNoInternalOverlap(call, out.shape, out.strides);
  if (out.shape.length !== shape.length || out.shape.some((n, i) => n !== shape[i])) {
    throw invalidValue(call, `out has shape [${out.shape.join(', ')}] but the result has shape [${shape.join(', ')}]`);
  }
  checkCast(call, dtype, out.dtype);
}

/** Which overload a method call means: the first whose argument types the call's arguments fit. */
function overloadChooser(names: readonly string[]): (args: readonly unknown[]) => string {
  const isTensor = (v: unknown) => v instanceof Tensor;
  const overloads = names.map((name) => {
    const schema = dispatcher.schema('defineOp', name);
    return { name, checks: schema.args.map((a): [TypeCheck, boolean] => [typeCheckOf(a.type, isTensor), a.default !== undefined || a.type.endsWith('?')]) };
  });
  /** How many leading arguments an overload takes (all of them, and no more: a fit). */
  const fitted = (checks: readonly [TypeCheck, boolean][], args: readonly unknown[]): number => {
    for (let i = 0; i < checks.length; i++) {
      const [check, optional] = checks[i]!;
      const value = args[i];
      if (value === undefined ? !optional : !check.test(value)) return i;
    }
    return args.length > checks.length ? checks.length : Infinity;
  };
  // No fit: the overload that took the most arguments; its binder names the first it refuses.
  return (args) => {
    let best = overloads[0]!;
    let most = -1;
    for (const o of overloads) {
      const n = fitted(o.checks, args);
      if (n === Infinity) return o.name;
      if (n > most) [best, most] = [o, n];
    }
    return best.name;
  };
}

/** Installs a generated Tensor method taking at most the overloads' arguments (more are refused, never ignored). */
function installMethod(method: string, overloads: readonly string[], fn: (all: unknown[]) => unknown): void {
  if (Object.hasOwn(Tensor.prototype, method)) throw new Error(`defineOp: Tensor already has a method ${method}`);
  const max = Math.max(...overloads.map((n) => dispatcher.schema('defineOp', n).args.length - 1));
  const value = {
    [method](this: Tensor): unknown {
      // `arguments`, not a rest parameter: the call's argument array (self first) is built once.
      const n = arguments.length;
      if (n > max) throw tooManyArguments(method, max, n);
      const all = new Array<unknown>(n + 1);
      all[0] = this;
      for (let i = 0; i < n; i++) all[i + 1] = arguments[i];
      return fn(all);
    },
  }[method]!;
  Object.defineProperty(Tensor.prototype, method, { value, writable: true, configurable: true, enumerable: false });
}

/** Defines an op, its generated forms, its derivatives and its methods; returns what the registry keeps of it. */
export function defineOp<A extends OpArgs, R extends OpResult>(definition: OpDefinition<A, R>): DefinedOp {
  const { result, kernel, backends } = definition;
  const parsed = definition.schemas.map((text) => parseSchema('defineOp', text));
  const name = parsed[0]!.name;
  const functional: string[] = [];
  const inplace: string[] = [];
  for (const [i, schema] of parsed.entries()) {
    const text = definition.schemas[i]!;
    functional.push(
      defineBuiltin(
        text,
        (ex, ...args: unknown[]) => {
          const a = named(schema, args) as A;
          const r = result(name, a);
          const out = ex.empty(r.dtype, r.shape);
          kernel(name, ex, out, a, r);
          return out;
        },
        definition.overloadBackends?.[schema.overload] ?? backends,
      ),
    );
    if (definition.inplace === true) {
      const call = `${name}_`;
      inplace.push(
        defineBuiltin(
          inplaceSchema(text, schema),
          (ex, ...args: unknown[]) => {
            const a = named(schema, args) as A;
            const self = a['self'] as Tensor;
            const r = result(call, a);
            // In place the result keeps self's shape and dtype: what broadcasting would grow, or a higher category, is refused.
            checkOut(call, self, broadcastShapes(call, self.shape, r.shape), r.dtype);
            kernel(call, ex, self, a, r);
            return self;
          },
          backends,
        ),
      );
    }
  }
  let out: string | undefined;
  if (definition.out === true) {
    const schema = parsed[0]!;
    const call = `${name}.out`;
    out = defineBuiltin(
      outSchema(definition.schemas[0]!, schema),
      (ex, ...args: unknown[]) => {
        const a = named(schema, args) as A;
        const target = args[schema.args.length] as Tensor;
        const r = result(call, a);
        checkOut(call, target, r.shape, r.dtype);
        kernel(call, ex, target, a, r);
        return target;
      },
      backends,
    );
  }
  const differentiable = Object.keys(definition.derivatives ?? {});
  if (definition.derivatives !== undefined) {
    const derivatives = definition.derivatives as Record<string, (grad: Tensor, args: A, result: Tensor) => Tensor | readonly Tensor[]>;
    for (const [i, schema] of parsed.entries()) {
      if (definition.derivativeOverloads !== undefined && !definition.derivativeOverloads.includes(schema.overload)) continue;
      const names = schema.args.map((a) => a.name);
      // Only tensors are saved: in a Scalar overload the same name is a number.
      const saves = (definition.saves ?? []).flatMap((s): (number | 'result')[] => (s === 'result' ? ['result'] : schema.args.some((a) => a.name === s && a.type === 'Tensor') ? [names.indexOf(s)] : []));
      maskedFormula(functional[i]!.replace(/^aten::/, ''), saves, (needs, grad, res, args) => {
        const a = named(schema, args) as A;
        return names.map((n, k) => (derivatives[n] === undefined || !needs[k] ? undefined : derivatives[n](grad, a, res)));
      });
    }
  }
  // One chooser of the functional overloads serves the method and the function variant.
  const chooseFunctional = overloadChooser(functional);
  const method = definition.method === false ? undefined : (definition.method ?? name);
  if (method !== undefined) installMethod(method, functional, (all) => op(method, chooseFunctional(all), all));
  const inplaceMethod = method !== undefined && inplace.length > 0 ? `${method}_` : undefined;
  if (inplaceMethod !== undefined) {
    const choose = overloadChooser(inplace);
    installMethod(inplaceMethod, inplace, (all) => {
      op(inplaceMethod, choose(all), all);
      return all[0];
    });
  }
  const fnName = definition.function;
  const call = (...args: unknown[]): unknown => op(fnName ?? name, chooseFunctional(args), args);
  const defined: DefinedOp = {
    function: fnName,
    call,
    name,
    functional,
    inplace,
    out,
    method,
    inplaceMethod,
    differentiable,
    autocast: definition.autocast,
    backends,
    overloadBackends: definition.overloadBackends,
    derivativeOverloads: definition.derivativeOverloads,
    doc: definition.doc,
  };
  definitions.push(defined);
  return defined;
}

/** The type of the Tensor method of an op whose method takes `P` (after self). */
export type OpMethod<P extends unknown[]> = (...args: P) => Tensor;

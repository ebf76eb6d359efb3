import { invalidValue } from '../errors/errors.js';
import type { OperatorSchema, SchemaArgument } from '../dispatch/schema.js';
import { Generator } from '../integration/random/generator.js';
import { dtypeNamed, isDType } from './dtype.js';
import { type DeviceLike, TensorDevice, resolveDevice } from './device.js';

/**
 * Binding a call's arguments to its op's schema, once, at the dispatcher's entry: each is
 * checked against its type, omitted trailing ones take the schema's default, and a `Device`
 * is resolved. Kernels, formulas and wrappers then see checked arguments in schema order,
 * and every message names the call and the op the same way.
 */

/** A check of one schema type: `test` a value, `what` it should have been. */
export interface TypeCheck {
  readonly test: (value: unknown) => boolean;
  readonly what: string;
}

/** Binds `args` of a call (`call` names it in messages); returns them checked, defaults filled. */
export type Binder = (call: string, args: readonly unknown[]) => readonly unknown[];

/** The one Tensor check (the binder sits below the Tensor class: tensor.ts passes it in). */
export type IsTensor = (value: unknown) => boolean;

function baseChecks(isTensor: IsTensor): Readonly<Record<string, TypeCheck>> {
  return {
    Tensor: { test: isTensor, what: 'a Tensor' },
    int: { test: (v) => Number.isSafeInteger(v), what: 'an int' },
    SymInt: { test: (v) => Number.isSafeInteger(v), what: 'an int' },
    float: { test: (v) => typeof v === 'number', what: 'a float' },
    bool: { test: (v) => typeof v === 'boolean', what: 'a bool' },
    str: { test: (v) => typeof v === 'string', what: 'a str' },
    Scalar: { test: (v) => typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint', what: 'a Scalar (a number, a boolean or a bigint)' },
    ScalarType: { test: (v) => dtypeNamed(v) !== undefined, what: "a ScalarType (a dtype name, or 'float', 'double', 'half', 'long', 'int')" },
    Device: { test: (v) => v instanceof TensorDevice || typeof v === 'string' || Number.isSafeInteger(v), what: "a Device ('openreg:1', 'cpu', a TensorDevice or an index)" },
    Generator: { test: (v) => v instanceof Generator, what: 'a Generator' },
    Any: { test: () => true, what: 'anything' },
  };
}

function typeCheck(type: string, base: Readonly<Record<string, TypeCheck>>): TypeCheck {
  const m = /^(\w+)(?:\[(\d*)\])?(\?)?$/.exec(type)!;
  let check = base[m[1]!]!;
  if (m[2] !== undefined) {
    const element = check;
    // `int[N]` also takes one int, as in PyTorch (`sum(dim=0)`).
    const single = m[2] !== '';
    check = { test: (v) => (Array.isArray(v) && v.every(element.test)) || (single && element.test(v)), what: `a list of ${element.what.replace(/^an? /, '')}${single ? ` (or ${element.what})` : ''}` };
  }
  if (m[3] !== undefined) {
    const inner = check;
    check = { test: (v) => v === undefined || v === null || inner.test(v), what: `${inner.what} or null` };
  }
  return check;
}

/** One literal of a schema default: a bool, a string, a dtype name, a number. */
function literal(text: string, type: string): unknown {
  if (text === 'True' || text === 'False') return text === 'True';
  if (/^['"]/.test(text)) return text.slice(1, -1);
  if (type.startsWith('ScalarType')) return text;
  if (text === 'inf' || text === '-inf') return text.startsWith('-') ? -Infinity : Infinity;
  if (text === 'nan') return NaN;
  return Number(text);
}

/** The value of a default as the schema writes it (`1`, `False`, `[True, False]`, `None`, `'mean'`, `float32`). */
export function defaultValue(arg: SchemaArgument): unknown {
  const text = arg.default;
  if (text === undefined || text === 'None') return undefined;
  if (text.startsWith('[')) {
    const inner = text.slice(1, -1).trim();
    return inner === '' ? [] : inner.split(',').map((item) => literal(item.trim(), arg.type));
  }
  const value = literal(text, arg.type);
  // `int[2] stride=1` stands for [1, 1].
  const list = /\[(\d+)\]/.exec(arg.type);
  return list === null ? value : new Array<unknown>(Number(list[1])).fill(value);
}

/** The check of one schema type (a return type too): what a value must be. */
export function typeCheckOf(type: string, isTensor: IsTensor): TypeCheck {
  return typeCheck(type, baseChecks(isTensor));
}

/** Compiles the binder of one schema (the checks are built once; a call only runs them). */
export function compileBinder(schema: OperatorSchema, isTensor: IsTensor): Binder {
  const base = baseChecks(isTensor);
  const params = schema.args.map((arg) => ({
    arg,
    check: typeCheck(arg.type, base),
    fallback: defaultValue(arg),
    device: arg.type.startsWith('Device'),
    // PyTorch's aliases ('double', 'long', …) reach rules and kernels as the dtype they name.
    dtype: arg.type.startsWith('ScalarType'),
    // `int[2] k` given one int stands for [k, k], as in PyTorch.
    repeat: /^(?:int|SymInt)\[(\d+)\]\??$/.exec(arg.type)?.[1],
  }));
  const required = schema.args.findLastIndex((a) => a.default === undefined) + 1;
  const total = schema.args.length;
  const op = schema.qualifiedName;
  const usage = schema.args.map((a) => `${a.type} ${a.name}${a.default === undefined ? '' : `=${a.default}`}`).join(', ');
  return (call, args) => {
    const n = args.length;
    if (n > total || n < required) {
      const expected = required === total ? `${total}` : `${required} to ${total}`;
      throw invalidValue(call, `${op} takes ${expected} argument${total === 1 ? '' : 's'} (${usage})`, n);
    }
    let bound = args;
    for (let i = 0; i < total; i++) {
      const p = params[i]!;
      let value = i < n ? args[i] : undefined;
      // undefined where there is a default is the default; null is a value and gets checked.
      if (value === undefined && p.arg.default !== undefined) {
        if (i < n && p.fallback === undefined) continue;
        if (bound === args) bound = args.slice();
        (bound as unknown[])[i] = Array.isArray(p.fallback) ? [...p.fallback] : p.fallback;
        continue;
      }
      if (!p.check.test(value)) throw invalidValue(call, `${op}: argument '${p.arg.name}' must be ${p.check.what}`, value);
      if (p.repeat !== undefined && typeof value === 'number') {
        if (bound === args) bound = args.slice();
        (bound as unknown[])[i] = new Array<number>(Number(p.repeat)).fill(value);
        continue;
      }
      if (p.dtype && typeof value === 'string' && !isDType(value)) {
        if (bound === args) bound = args.slice();
        (bound as unknown[])[i] = dtypeNamed(value);
        continue;
      }
      if (p.device && value !== undefined && value !== null && !(value instanceof TensorDevice)) {
        value = resolveDevice(call, value as DeviceLike);
        if (bound === args) bound = args.slice();
        (bound as unknown[])[i] = value;
      }
    }
    return bound;
  };
}

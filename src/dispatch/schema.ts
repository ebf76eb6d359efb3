import { invalidValue } from '../errors/errors.js';

/**
 * Operator schemas in PyTorch's notation, e.g.
 * `add.out(Tensor self, Tensor other, *, Scalar alpha=1, Tensor(a!) out) -> Tensor(a!)`:
 * what each argument is, which are keyword-only, and which are written or aliased —
 * what the dispatcher and a hazard detector need to know of an op without running it.
 */
export interface SchemaAlias {
  /** The alias set (`a` in `Tensor(a!)`): arguments and returns in one set share storage. */
  readonly set: string;
  /** `!`: the argument is written. */
  readonly write: boolean;
}

export interface SchemaArgument {
  readonly name: string;
  /** `Tensor`, `Tensor?`, `Tensor[]`, `Scalar`, `int`, `int[]`, `float`, `bool`, `ScalarType?`, … */
  readonly type: string;
  readonly alias: SchemaAlias | undefined;
  readonly kwargOnly: boolean;
  /** The default as written in the schema (`1`, `None`, `False`, `[]`), if any. */
  readonly default: string | undefined;
}

export interface SchemaReturn {
  readonly type: string;
  readonly alias: SchemaAlias | undefined;
}

export interface OperatorSchema {
  /** Namespace (`aten` when none is written), name and overload (`''` for the default). */
  readonly namespace: string;
  readonly name: string;
  readonly overload: string;
  readonly args: readonly SchemaArgument[];
  readonly returns: readonly SchemaReturn[];
  /** `namespace::name.overload` (no `.` for the default overload). */
  readonly qualifiedName: string;
}

const NAME = /^(?:([A-Za-z_][\w]*)::)?([A-Za-z_][\w]*)(?:\.([A-Za-z_][\w]*))?$/;
const TYPE = /^([A-Za-z_][\w]*)(?:\(([a-z])(!?)\))?(\[\d*\])?(\?)?$/;

/** Parses a schema; a malformed one is ERR_INVALID_VALUE naming `call`. */
export function parseSchema(call: string, text: unknown): OperatorSchema {
  if (typeof text !== 'string') throw invalidValue(call, 'schema must be a string', text);
  const fail = (problem: string): never => {
    throw invalidValue(call, `malformed schema ${JSON.stringify(text)}: ${problem}`);
  };
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')', text.indexOf('->') >= 0 ? text.indexOf('->') : text.length);
  if (open < 0 || close < open) fail('expected name(arguments) -> returns');
  const head = NAME.exec(text.slice(0, open).trim());
  if (head === null) fail('bad operator name');
  const arrow = text.indexOf('->', close);
  if (arrow < 0) fail("missing '->' and return types");
  const args: SchemaArgument[] = [];
  let kwargOnly = false;
  const argText = text.slice(open + 1, close).trim();
  for (const raw of argText === '' ? [] : splitTopLevel(argText)) {
    const part = raw.trim();
    if (part === '*') {
      if (kwargOnly) fail("'*' appears twice");
      kwargOnly = true;
      continue;
    }
    const eq = part.indexOf('=');
    const decl = (eq >= 0 ? part.slice(0, eq) : part).trim();
    const space = decl.lastIndexOf(' ');
    if (space < 0) fail(`argument ${JSON.stringify(part)} needs a type and a name`);
    const type = parseType(decl.slice(0, space).trim()) ?? fail(`bad type in ${JSON.stringify(part)}`);
    const name = decl.slice(space + 1).trim();
    if (!/^[A-Za-z_]\w*$/.test(name)) fail(`bad argument name ${JSON.stringify(name)}`);
    if (args.some((a) => a.name === name)) fail(`argument ${name} appears twice`);
    args.push({ name, type: type.type, alias: type.alias, kwargOnly, default: eq >= 0 ? part.slice(eq + 1).trim() : undefined });
  }
  let retText = text.slice(arrow + 2).trim();
  if (retText.startsWith('(') && retText.endsWith(')')) retText = retText.slice(1, -1).trim();
  const returns: SchemaReturn[] = [];
  for (const raw of retText === '' || retText === '()' ? [] : splitTopLevel(retText)) {
    const decl = raw.trim().split(' ')[0]!; // a return may be named: `Tensor values`
    const type = parseType(decl) ?? fail(`bad return type ${JSON.stringify(raw.trim())}`);
    returns.push(type);
  }
  const [, namespace = 'aten', name, overload = ''] = head!;
  return { namespace, name: name!, overload, args, returns, qualifiedName: `${namespace}::${name}${overload === '' ? '' : `.${overload}`}` };
}

function parseType(text: string): SchemaReturn | undefined {
  const m = TYPE.exec(text);
  if (m === null) return undefined;
  const [, base, set, bang, list = '', optional = ''] = m;
  return { type: `${base}${list}${optional}`, alias: set === undefined ? undefined : { set, write: bang === '!' } };
}

/** Splits on commas outside brackets (defaults such as `[0, 1]`). */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') depth--;
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

/** The arguments an op writes (`Tensor(a!)`): in-place and `out=` forms. */
export function writtenArguments(schema: OperatorSchema): SchemaArgument[] {
  return schema.args.filter((a) => a.alias?.write === true);
}

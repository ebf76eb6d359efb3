import { invalidValue } from '../errors/errors.js';
import { DTYPES } from '../tensor/dtype.js';

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
const TYPE = /^([A-Za-z_][\w]*)(?:\(([a-z])(!?)\))?(\[(\d*)\])?(\?)?$/;
const IDENTIFIER = /^[A-Za-z_]\w*$/;

/** The types a schema may use: the ones a call can be checked against (Any: an internal escape hatch). */
export const SCHEMA_TYPES: ReadonlySet<string> = new Set(['Tensor', 'int', 'SymInt', 'float', 'bool', 'str', 'Scalar', 'ScalarType', 'Device', 'Generator', 'Any']);
/** The element types a list (`int[]`, `Tensor[]`) may have. */
const LIST_TYPES: ReadonlySet<string> = new Set(['Tensor', 'int', 'SymInt', 'float', 'bool', 'str', 'Scalar']);

const INT_LITERAL = /^-?\d+$/;
const FLOAT_LITERAL = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$|^-?inf$|^nan$/;
const STRING_LITERAL = /^(?:'[^'\\]*'|"[^"\\]*")$/;

/** Parses a schema; a malformed one is ERR_INVALID_VALUE naming `call`. */
export function parseSchema(call: string, text: unknown): OperatorSchema {
  if (typeof text !== 'string') throw invalidValue(call, 'schema must be a string', text);
  const fail = (problem: string): never => {
    throw invalidValue(call, `malformed schema ${JSON.stringify(text)}: ${problem}`);
  };
  const open = text.indexOf('(');
  const arrowAt = text.indexOf('->');
  const close = text.lastIndexOf(')', arrowAt >= 0 ? arrowAt : text.length);
  if (open < 0 || close < open) fail('expected name(arguments) -> returns');
  const head = NAME.exec(text.slice(0, open).trim());
  if (head === null) fail('bad operator name');
  const arrow = text.indexOf('->', close);
  if (arrow < 0) fail("missing '->' and return types");
  if (text.slice(close + 1, arrow).trim() !== '') fail(`unexpected ${JSON.stringify(text.slice(close + 1, arrow).trim())} before '->'`);
  const args: SchemaArgument[] = [];
  let kwargOnly = false;
  let positionalDefault: string | undefined;
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
    const typeText = decl.slice(0, space).trim();
    const type = parseType(typeText) ?? fail(`unknown type ${JSON.stringify(typeText)} in ${JSON.stringify(part)} (the types are ${[...SCHEMA_TYPES].join(', ')}, with [] for a list and ? for optional)`);
    const name = decl.slice(space + 1).trim();
    if (!IDENTIFIER.test(name)) fail(`bad argument name ${JSON.stringify(name)}`);
    if (args.some((a) => a.name === name)) fail(`argument ${name} appears twice`);
    const fallback = eq >= 0 ? part.slice(eq + 1).trim() : undefined;
    if (fallback !== undefined && !validDefault(type.type, fallback)) fail(`${JSON.stringify(fallback)} is not a default a ${type.type} can have (argument ${name})`);
    // As in Python, a positional argument without a default cannot follow one with a default.
    if (!kwargOnly) {
      if (fallback !== undefined) positionalDefault = name;
      else if (positionalDefault !== undefined) fail(`argument ${name} has no default but follows ${positionalDefault}, which has one`);
    }
    args.push({ name, type: type.type, alias: type.alias, kwargOnly, default: fallback });
  }
  if (kwargOnly && !args.some((a) => a.kwargOnly)) fail("'*' must be followed by keyword-only arguments");
  let retText = text.slice(arrow + 2).trim();
  if (retText === '') fail("no return types after '->' (write () for none)");
  if (retText.startsWith('(') && retText.endsWith(')')) retText = retText.slice(1, -1).trim();
  const returns: SchemaReturn[] = [];
  for (const raw of retText === '' ? [] : splitTopLevel(retText)) {
    const [decl = '', name, ...rest] = raw.trim().split(/\s+/); // a return may be named: `Tensor values`
    if (rest.length > 0 || (name !== undefined && !IDENTIFIER.test(name))) fail(`bad return ${JSON.stringify(raw.trim())}`);
    const type = parseType(decl) ?? fail(`unknown return type ${JSON.stringify(decl)} (the types are ${[...SCHEMA_TYPES].join(', ')})`);
    if (type.type === 'Any') fail('a return cannot be Any');
    if (type.alias !== undefined) {
      const set = type.alias.set;
      const source = args.find((a) => a.alias?.set === set);
      // An output can only alias storage that an input brings.
      if (source === undefined) fail(`return ${decl} aliases set ${set}, which no argument declares`);
      if (type.alias.write && !source!.alias!.write) fail(`return ${decl} is written but argument ${source!.name} is only Tensor(${set})`);
    }
    returns.push(type);
  }
  const [, namespace = 'aten', name, overload = ''] = head!;
  return { namespace, name: name!, overload, args, returns, qualifiedName: `${namespace}::${name}${overload === '' ? '' : `.${overload}`}` };
}

function parseType(text: string): SchemaReturn | undefined {
  const m = TYPE.exec(text);
  if (m === null) return undefined;
  const [, base = '', set, bang, list = '', , optional = ''] = m;
  if (!SCHEMA_TYPES.has(base) || (list !== '' && !LIST_TYPES.has(base))) return undefined;
  // Only tensors have storage to alias.
  if (set !== undefined && base !== 'Tensor') return undefined;
  return { type: `${base}${list}${optional}`, alias: set === undefined ? undefined : { set, write: bang === '!' } };
}

/** Whether `text` is a default a `type` can have: None for optional types, else a literal of the type. */
function validDefault(type: string, text: string): boolean {
  if (text === 'None') return type.endsWith('?');
  const m = /^(\w+)(\[(\d*)\])?\??$/.exec(type)!;
  const base = m[1]!;
  if (m[2] !== undefined) {
    // PyTorch lets `int[2] stride=1` stand for [1, 1].
    if (m[3] !== '' && validScalarDefault(base, text)) return true;
    if (!text.startsWith('[') || !text.endsWith(']')) return false;
    const inner = text.slice(1, -1).trim();
    return inner === '' || inner.split(',').every((item) => validScalarDefault(base, item.trim()));
  }
  return validScalarDefault(base, text);
}

function validScalarDefault(base: string, text: string): boolean {
  switch (base) {
    case 'int':
    case 'SymInt':
      return INT_LITERAL.test(text);
    case 'float':
      return FLOAT_LITERAL.test(text);
    case 'bool':
      return text === 'True' || text === 'False';
    case 'Scalar':
      return FLOAT_LITERAL.test(text) || text === 'True' || text === 'False';
    case 'str':
      return STRING_LITERAL.test(text);
    case 'ScalarType':
      return Object.hasOwn(DTYPES, text);
    case 'Device':
      return STRING_LITERAL.test(text);
    default:
      // Tensor, Generator, Any: only None.
      return false;
  }
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

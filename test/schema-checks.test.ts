import { describe, expect, it } from 'vitest';
import { ErrorCode, Library, type OperatorSchema, Tensor, callOp, empty, operatorNames, registerStub, tensor, zeros } from '../dist/src/index.js';
import { dispatcher } from '../dist/src/dispatch/registry.js';
import { parseSchema } from '../dist/src/dispatch/schema.js';
import { expectCode, useTensorRuntime } from './helpers.js';

// Schemas are parsed strictly, and calls and kernels' results are checked against them
// (issue 15: "Schemas are parsed strictly and calls are checked against them").
useTensorRuntime({ deviceCount: 2 });

/** The schema's text again, from its parsed form. */
function text(s: OperatorSchema): string {
  const alias = (t: string, a: OperatorSchema['returns'][number]['alias']) => (a === undefined ? t : t.replace(/^Tensor/, `Tensor(${a.set}${a.write ? '!' : ''})`));
  const args: string[] = [];
  s.args.forEach((a, i) => {
    if (a.kwargOnly && (i === 0 || !s.args[i - 1]!.kwargOnly)) args.push('*');
    args.push(`${alias(a.type, a.alias)} ${a.name}${a.default === undefined ? '' : `=${a.default}`}`);
  });
  const returns = s.returns.map((r) => alias(r.type, r.alias));
  return `${s.qualifiedName}(${args.join(', ')}) -> ${returns.length === 1 ? returns[0] : `(${returns.join(', ')})`}`;
}

describe('Library.define parses strictly', () => {
  it.each([
    ['an unknown return type', 'bad_ret(Tensor x) -> Bogus'],
    ['an unknown argument type', 'bad_arg(Bogus x) -> Tensor'],
    ['a default that is not of the type', 'bad_int(Tensor x, int n=abc) -> Tensor'],
    ['a float default for an int', 'bad_int2(Tensor x, int n=1.5) -> Tensor'],
    ['None for a type that is not optional', 'bad_none(Tensor x, int n=None) -> Tensor'],
    ['a default for a Tensor', 'bad_tensor(Tensor x=5) -> Tensor'],
    ['a bool written in lower case', 'bad_bool(Tensor x, bool b=false) -> Tensor'],
    ['an unknown dtype', 'bad_dtype(Tensor x, ScalarType t=half) -> Tensor'],
    ['an output alias that no input declares', 'bad_alias(Tensor(a!) x) -> Tensor(b!)'],
    ['a written output aliasing an input that is only read', 'bad_write(Tensor(a) x) -> Tensor(a!)'],
    ['an alias on a non-tensor', 'bad_int_alias(Tensor x, int(a) n) -> Tensor'],
    ['a list of Device', 'bad_list(Device[] d) -> Tensor'],
    ['a positional argument without default after one with', 'bad_order(Tensor x, int a=1, int b) -> Tensor'],
    ["'*' with nothing after it", 'bad_star(Tensor x, *) -> Tensor'],
    ["text between ')' and '->'", 'bad_junk(Tensor x) junk -> Tensor'],
    ['a return with two names', 'bad_ret_name(Tensor x) -> Tensor a b'],
    ['an empty return', 'bad_empty(Tensor x) ->'],
    ['an Any return', 'bad_any(Tensor x) -> Any'],
    ['an empty argument', 'bad_comma(Tensor x,, int n) -> Tensor'],
  ])('refuses %s', (_what, schema) => {
    using lib = new Library('strictns');
    const error = expectCode(() => lib.define(schema), ErrorCode.INVALID_VALUE);
    expect(error.message).toMatch(/^library\.define: malformed schema /);
    expect(operatorNames().some((n) => n.startsWith('strictns::'))).toBe(false);
  });

  it('accepts every type the grammar has: optional, lists, defaults, keyword-only, aliases', () => {
    using lib = new Library('strictns');
    const name = lib.define(
      "every(Tensor(a!) a, Tensor? b, Tensor[] c, int d, int[] e, float f, bool g, str h, Scalar i, ScalarType j, Device k, SymInt l, int[2] m=1, int[] n=[0, -1], float o=1e-05, float p=-inf, str q='x', bool r=True, Scalar s=-1.5, ScalarType? t=None, Device? u=None, Generator? v=None, *, Tensor(b!) out) -> (Tensor(a!), Tensor(b!) result, Tensor)",
    );
    const s = dispatcher.schema('test', name);
    expect(s.args.map((a: { type: string }) => a.type).join(' ')).toBe('Tensor Tensor? Tensor[] int int[] float bool str Scalar ScalarType Device SymInt int[2] int[] float float str bool Scalar ScalarType? Device? Generator? Tensor');
    expect(s.returns.map((r: { alias?: { set: string } }) => r.alias?.set)).toEqual(['a', 'b', undefined]);
  });

  it('every builtin schema parses, and parses back to itself', () => {
    const builtins = operatorNames().filter((n) => n.startsWith('aten::') || n.startsWith('openreg::'));
    expect(builtins.length).toBeGreaterThan(90);
    for (const name of builtins) {
      const s = dispatcher.schema('test', name);
      expect(parseSchema('test', text(s))).toEqual(s);
    }
  });

  it('a disposed library defines and registers nothing more', () => {
    const lib = new Library('deadns');
    lib.define('op(Tensor x) -> Tensor');
    lib.dispose();
    expect(expectCode(() => lib.define('op2(Tensor x) -> Tensor'), ErrorCode.INVALID_VALUE).message).toMatch(/^library\.define: library deadns was disposed/);
    expect(operatorNames().some((n) => n.startsWith('deadns::'))).toBe(false);
    using other = new Library('deadns');
    other.define('op(Tensor x) -> Tensor');
    expect(expectCode(() => lib.impl('deadns::op', 'cpu', (x: Tensor) => x), ErrorCode.INVALID_VALUE).message).toMatch(/^library\.impl: /);
    expect(expectCode(() => lib.registerAutograd('deadns::op', (_ctx, g) => g), ErrorCode.INVALID_VALUE).message).toMatch(/^library\.registerAutograd: /);
  });
});

describe('callOp checks the arguments against the schema', () => {
  it('refuses wrong arity, types and values, naming the op and the argument', () => {
    using lib = new Library('argns');
    lib.define("foo(Tensor x, int n, float f=1.0, bool b=False, str s='a', Scalar c=1, ScalarType? t=None, int[] dims=[], Tensor[] list=[], Tensor? y=None) -> Tensor");
    lib.impl('foo', 'cpu', (x: Tensor) => x.clone());
    const x = zeros([2]);
    expect(callOp('argns::foo', x, 3)).toBeInstanceOf(Tensor);
    expect(callOp('argns::foo', x, 3, Number.NaN, true, 'z', false, 'int64', [0, 1], [x, x], null)).toBeInstanceOf(Tensor);
    expect(callOp('argns::foo', x, 3, undefined, undefined, 's')).toBeInstanceOf(Tensor); // undefined takes the default
    const cases: [args: unknown[], message: string][] = [
      [[x], 'callOp: argns::foo takes 2 to 10 arguments'],
      [[x, 1, 1, false, 'a', 1, null, [], [], null, 'extra'], 'callOp: argns::foo takes 2 to 10 arguments'],
      [[x, 1.5], "callOp: argns::foo: argument 'n' must be an int, got 1.5"],
      [[x, Number.NaN], "callOp: argns::foo: argument 'n' must be an int, got NaN"],
      [[x, 2 ** 53], "callOp: argns::foo: argument 'n' must be an int"],
      [[x, '3'], "callOp: argns::foo: argument 'n' must be an int"],
      [[x, null], "callOp: argns::foo: argument 'n' must be an int, got null"],
      [[x, undefined], "callOp: argns::foo: argument 'n' must be an int"],
      [[5, 1], "callOp: argns::foo: argument 'x' must be a Tensor, got 5"],
      [[x, 1, '1.0'], "callOp: argns::foo: argument 'f' must be a float"],
      [[x, 1, null], "callOp: argns::foo: argument 'f' must be a float, got null"],
      [[x, 1, 1, 1], "callOp: argns::foo: argument 'b' must be a bool"],
      [[x, 1, 1, true, 5], "callOp: argns::foo: argument 's' must be a str"],
      [[x, 1, 1, true, 's', '1'], "callOp: argns::foo: argument 'c' must be a Scalar"],
      [[x, 1, 1, true, 's', 1, 'short'], "callOp: argns::foo: argument 't' must be a ScalarType"],
      [[x, 1, 1, true, 's', 1, null, [0, 0.5]], "callOp: argns::foo: argument 'dims' must be a list of int"],
      [[x, 1, 1, true, 's', 1, null, 0], "callOp: argns::foo: argument 'dims' must be a list of int"],
      [[x, 1, 1, true, 's', 1, null, [], [x, 5]], "callOp: argns::foo: argument 'list' must be a list of Tensor"],
      [[x, 1, 1, true, 's', 1, null, [], [], 5], "callOp: argns::foo: argument 'y' must be a Tensor or null"],
    ];
    for (const [args, message] of cases) expect(expectCode(() => callOp('argns::foo', ...args), ErrorCode.INVALID_VALUE).message, String(args[1])).toContain(message);
  });

  it('checks the builtin ops called by name too', () => {
    const x = zeros([2, 3], { device: 'openreg' });
    expect(expectCode(() => callOp('transpose.int', x, 0.5, 1), ErrorCode.INVALID_VALUE).message).toBe("callOp: aten::transpose.int: argument 'dim0' must be an int, got 0.5");
    expect(expectCode(() => callOp('neg', x, x), ErrorCode.INVALID_VALUE).message).toMatch(/^callOp: aten::neg takes 1 argument \(Tensor self\), got 2/);
    expect(expectCode(() => callOp('sum', x, 'bogus'), ErrorCode.INVALID_VALUE).message).toMatch(/^callOp: aten::sum: argument 'dtype' must be a ScalarType/);
    expect(expectCode(() => callOp('empty', [2], 'float32', 'cuda'), ErrorCode.INVALID_VALUE).message).toMatch(/^callOp: /);
    expect(expectCode(() => callOp('empty', [2], 'float32', 'openreg:7'), ErrorCode.INVALID_DEVICE).message).toMatch(/^callOp: /);
    expect(expectCode(() => callOp('sum.dim_IntList', x, 1, 'yes'), ErrorCode.INVALID_VALUE).message).toMatch(/^callOp: aten::sum.dim_IntList: argument 'keepdim' must be a bool/);
    // int[1] takes one int, and a Device argument decides where an op without tensors runs.
    expect((callOp('sum.dim_IntList', x, 1) as Tensor).shape).toEqual([2]);
    const made = callOp('empty', [2], 'float32', 'openreg:1') as Tensor;
    expect([made.device.toString(), made.shape]).toEqual(['openreg:1', [2]]);
  });

  it('every builtin op refuses a call with too many arguments, also below callOp', () => {
    const x = zeros([2]);
    expect(expectCode(() => dispatcher.call('neg', 'aten::neg', ['cpu'], [x, x]), ErrorCode.INVALID_VALUE).message).toMatch(/^neg: aten::neg takes 1 argument/);
    expect(expectCode(() => dispatcher.call('add', 'aten::add.Tensor', ['cpu'], [x, x, 1, 2]), ErrorCode.INVALID_VALUE).message).toMatch(/^add: aten::add.Tensor takes 2 to 3 arguments/);
  });
});

describe("callOp checks the kernels' results against the schema", () => {
  it('refuses a value that is not of the return type', () => {
    using lib = new Library('retns');
    lib.define('five(Tensor x) -> Tensor');
    lib.define('nothing(Tensor x) -> ()');
    lib.define('pair(Tensor x) -> (Tensor, Tensor)');
    lib.define('count(Tensor x) -> int');
    lib.impl('five', 'cpu', () => 5);
    lib.impl('nothing', 'cpu', () => 5);
    lib.impl('pair', 'cpu', (x: Tensor) => [x.clone()]);
    lib.impl('count', 'cpu', () => 1.5);
    const x = zeros([2]);
    expect(expectCode(() => callOp('retns::five', x), ErrorCode.INVALID_VALUE).message).toBe('callOp: retns::five: the kernel must return a Tensor (the schema returns Tensor), got 5');
    expect(expectCode(() => callOp('retns::nothing', x), ErrorCode.INVALID_VALUE).message).toMatch(/^callOp: retns::nothing: the kernel must return nothing/);
    expect(expectCode(() => callOp('retns::pair', x), ErrorCode.INVALID_VALUE).message).toMatch(/^callOp: retns::pair: the kernel must return an array of 2 values/);
    expect(expectCode(() => callOp('retns::count', x), ErrorCode.INVALID_VALUE).message).toMatch(/^callOp: retns::count: the kernel must return an int/);
  });

  it('refuses a tensor on another device than the op runs on', () => {
    using lib = new Library('devns');
    lib.define('elsewhere(Tensor x) -> Tensor');
    lib.define('to_cpu(Tensor x) -> Tensor');
    lib.define('move(Tensor x, Device d) -> Tensor');
    lib.impl('elsewhere', 'openreg', (x: Tensor) => zeros(x.shape, { device: 'openreg:0' }));
    lib.impl('to_cpu', 'openreg', (x: Tensor) => zeros(x.shape));
    lib.impl('move', 'openreg', (x: Tensor, d: unknown) => x.to(d as never));
    const x = zeros([2], { device: 'openreg:1' });
    expect(expectCode(() => callOp('devns::elsewhere', x), ErrorCode.INVALID_VALUE).message).toMatch(/^callOp: devns::elsewhere: the kernel returned a tensor on openreg:0, but the op runs on openreg:1/);
    expect(expectCode(() => callOp('devns::to_cpu', x), ErrorCode.INVALID_VALUE).message).toMatch(/^callOp: devns::to_cpu: the kernel returned a tensor on cpu, but the op runs on openreg:1/);
    // An op with a Device argument may return tensors there.
    expect((callOp('devns::move', x, 'openreg:0') as Tensor).device.toString()).toBe('openreg:0');
    expect((callOp('devns::move', x, 'cpu') as Tensor).device.toString()).toBe('cpu');
  });

  it('runs an op without tensor arguments on its Device argument, and the kernel gets a TensorDevice', () => {
    using lib = new Library('factoryns');
    lib.define('make(int n, Device device) -> Tensor');
    const seen: string[] = [];
    const make = (n: number, d: { toString(): string }) => (seen.push(d.toString()), empty([n], { device: d as never }));
    lib.impl('make', 'openreg', make);
    lib.impl('make', 'cpu', make);
    expect((callOp('factoryns::make', 3, 'openreg:1') as Tensor).device.toString()).toBe('openreg:1');
    expect((callOp('factoryns::make', 3, 'cpu') as Tensor).device.toString()).toBe('cpu');
    expect(seen).toEqual(['openreg:1', 'cpu']);
  });

  it('a Tensor(a!) return must be the argument the op writes; Generator arguments are checked', () => {
    using lib = new Library('outns');
    lib.define('fill_one(Tensor x, *, Tensor(a!) out) -> Tensor(a!)');
    lib.define('good_fill(Tensor x, *, Tensor(a!) out) -> Tensor(a!)');
    lib.define('seeded(Tensor x, Generator? g=None) -> Tensor');
    let made: Tensor | undefined;
    lib.impl('fill_one', 'cpu', (x: Tensor) => (made = x.add(1)));
    lib.impl('good_fill', 'cpu', (x: Tensor, out: Tensor) => out.copy_(x));
    lib.impl('seeded', 'cpu', (x: Tensor) => x.clone());
    const x = zeros([2]);
    const out = zeros([2]);
    expect(expectCode(() => callOp('outns::fill_one', x, out), ErrorCode.INVALID_VALUE).message).toMatch(/^callOp: outns::fill_one: the kernel must return its argument 'out'/);
    // The refused result is freed, not leaked.
    expect(made?.disposed).toBe(true);
    expect(callOp('outns::good_fill', x, out)).toBe(out);
    expect(expectCode(() => callOp('outns::seeded', x, 5), ErrorCode.INVALID_VALUE).message).toMatch(/^callOp: outns::seeded: argument 'g' must be a Generator or null/);
    expect(callOp('outns::seeded', x, null)).toBeInstanceOf(Tensor);
  });
});

describe('registerStub', () => {
  it('refuses a stub that no op declares, and still takes a kernel for a declared one', () => {
    expect(expectCode(() => registerStub('bogus_stub', 'cpu', () => undefined), ErrorCode.INVALID_VALUE).message).toMatch(/^registerStub: no op routes through a stub of that name .*abs_stub.*, got "bogus_stub"/);
    const dispose = registerStub('abs_stub', 'meta', () => undefined);
    dispose();
    expect(tensor([-1]).abs()).toBeInstanceOf(Tensor);
  });
});

import { describe, expect, it } from 'vitest';
import { parseSchema, writtenArguments } from '../../src/dispatch/schema.js';

describe('operator schemas', () => {
  it('parse names, overloads, types, keyword-only arguments, defaults and aliasing', () => {
    const s = parseSchema('define', 'add.out(Tensor self, Tensor other, *, Scalar alpha=1, Tensor(a!) out) -> Tensor(a!)');
    expect([s.namespace, s.name, s.overload, s.qualifiedName]).toEqual(['aten', 'add', 'out', 'aten::add.out']);
    expect(s.args.map((a) => [a.name, a.type, a.kwargOnly, a.default ?? null])).toEqual([
      ['self', 'Tensor', false, null],
      ['other', 'Tensor', false, null],
      ['alpha', 'Scalar', true, '1'],
      ['out', 'Tensor', true, null],
    ]);
    expect(s.args[3]!.alias).toEqual({ set: 'a', write: true });
    expect(s.returns).toEqual([{ type: 'Tensor', alias: { set: 'a', write: true } }]);
    expect(writtenArguments(s).map((a) => a.name)).toEqual(['out']);
  });

  it('parse custom namespaces, in-place ops, views, lists, optionals and tuple returns', () => {
    expect(parseSchema('define', 'myns::custom_abs(Tensor input) -> Tensor').qualifiedName).toBe('myns::custom_abs');
    const inplace = parseSchema('define', 'add_.Tensor(Tensor(a!) self, Tensor other, *, Scalar alpha=1) -> Tensor(a!)');
    expect(writtenArguments(inplace).map((a) => a.name)).toEqual(['self']);
    const view = parseSchema('define', 'view(Tensor(a) self, int[] size) -> Tensor(a)');
    expect(view.args[0]!.alias).toEqual({ set: 'a', write: false });
    expect(view.args[1]!.type).toBe('int[]');
    const sum = parseSchema('define', 'sum.dim_IntList(Tensor self, int[1]? dim, bool keepdim=False, *, ScalarType? dtype=None) -> Tensor');
    expect(sum.args.map((a) => a.type)).toEqual(['Tensor', 'int[1]?', 'bool', 'ScalarType?']);
    expect(sum.args[2]!.default).toBe('False');
    const max = parseSchema('define', 'max.dim(Tensor self, int dim, bool keepdim=False) -> (Tensor values, Tensor indices)');
    expect(max.returns.map((r) => r.type)).toEqual(['Tensor', 'Tensor']);
    expect(parseSchema('define', 'fn(int[] size=[0, 1]) -> ()').args[0]!.default).toBe('[0, 1]');
  });

  it('rejects malformed schemas with a coded error naming the call', () => {
    for (const bad of ['abs Tensor', 'abs(Tensor self)', 'abs(self) -> Tensor', '9x(Tensor a) -> Tensor', 'f(Tensor a, Tensor a) -> Tensor', 'f(Tensor$ a) -> Tensor', 'f(*, *) -> ()']) {
      expect(() => parseSchema('library.define', bad), bad).toThrow(/^library\.define: malformed schema/);
    }
    expect(() => parseSchema('library.define', 42)).toThrow(/^library\.define: schema must be a string/);
  });
});

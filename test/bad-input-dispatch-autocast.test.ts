import { expect, it } from 'vitest';
import * as o from '../dist/src/index.js';
import { useTensorRuntime } from './helpers.js';
import { testBadCalls } from './bad-calls.js';

// Every public call of the dispatcher and of autocast rejects bad input with a coded error
// whose message starts with the call: no raw error, nothing silently accepted (issue 15).
let x: o.Tensor;
let lib: o.Library;
let dead: o.Library;
useTensorRuntime({ deviceCount: 2 }, () => {
  x = o.tensor([1, 2], { dtype: 'float32', device: 'openreg:1' });
  lib = new o.Library('badinputns');
  lib.define('scale(Tensor x, int n, *, float k=1.0) -> Tensor');
  lib.define('ret5(Tensor x) -> Tensor');
  lib.define('wrongdev(Tensor x) -> Tensor');
  lib.impl('scale', 'openreg', (t: o.Tensor) => t.clone());
  lib.impl('ret5', 'openreg', () => 5);
  lib.impl('wrongdev', 'openreg', () => o.zeros([2], { device: 'openreg:0' }));
  dead = new o.Library('badinputdead');
  dead.dispose();
});

const bad = (v: unknown) => v as never;
const policy = { lowerPrecision: ['mm'], float32: [], promote: [] };
const CASES: [call: string, code: string, fn: () => unknown][] = [
  // autocast and its queries
  ['autocast', 'ERR_INVALID_VALUE', () => o.autocast(bad({ cacheEnabled: 'x' }), () => 0)],
  ['autocast', 'ERR_INVALID_VALUE', () => o.autocast(bad({ bogus: 1 }), () => 0)],
  ['autocast', 'ERR_INVALID_VALUE', () => o.autocast(bad(null), () => 0)],
  ['autocast', 'ERR_INVALID_VALUE', () => o.autocast(bad([]), () => 0)],
  ['autocast', 'ERR_INVALID_VALUE', () => o.autocast(bad('openreg'), () => 0)],
  ['autocast', 'ERR_INVALID_VALUE', () => o.autocast({ enabled: bad(1) }, () => 0)],
  ['autocast', 'ERR_INVALID_VALUE', () => o.autocast({ enabled: bad(null) }, () => 0)],
  ['autocast', 'ERR_INVALID_VALUE', () => o.autocast({ dtype: bad(null) }, () => 0)],
  ['autocast', 'ERR_INVALID_VALUE', () => o.autocast({ deviceType: bad(null) }, () => 0)],
  ['autocast', 'ERR_INVALID_VALUE', () => o.autocast({ deviceType: 'meta' }, () => 0)],
  ['autocast', 'ERR_INVALID_VALUE', () => o.autocast({}, bad(null))],
  ['AutocastGuard', 'ERR_INVALID_VALUE', () => new o.AutocastGuard(bad(null))],
  ['AutocastGuard', 'ERR_INVALID_VALUE', () => new o.AutocastGuard(bad({ bogus: 1 }))],
  ['AutocastGuard', 'ERR_INVALID_VALUE', () => new o.AutocastGuard({ cacheEnabled: bad('x') })],
  ['AutocastGuard', 'ERR_INVALID_VALUE', () => new o.AutocastGuard({ dtype: bad(5) })],
  ['AutocastGuard', 'ERR_INVALID_VALUE', () => new o.AutocastGuard(bad(5))],
  ['isAutocastEnabled', 'ERR_INVALID_VALUE', () => o.isAutocastEnabled(bad(null))],
  ['isAutocastEnabled', 'ERR_INVALID_VALUE', () => o.isAutocastEnabled(bad(5))],
  ['isAutocastEnabled', 'ERR_INVALID_VALUE', () => o.isAutocastEnabled('cuda')],
  ['getAutocastDtype', 'ERR_INVALID_VALUE', () => o.getAutocastDtype(bad(null))],
  ['getAutocastDtype', 'ERR_INVALID_VALUE', () => o.getAutocastDtype('meta')],
  ['getAmpSupportedDtype', 'ERR_INVALID_VALUE', () => o.getAmpSupportedDtype(bad(undefined))],
  ['getAmpSupportedDtype', 'ERR_INVALID_VALUE', () => o.getAmpSupportedDtype(bad({}))],
  ['registerAutocastPolicy', 'ERR_INVALID_VALUE', () => o.registerAutocastPolicy('cpu', bad(null))],
  ['registerAutocastPolicy', 'ERR_INVALID_VALUE', () => o.registerAutocastPolicy('cpu', bad([]))],
  ['registerAutocastPolicy', 'ERR_INVALID_VALUE', () => o.registerAutocastPolicy('cpu', bad({ ...policy, bogus: [] }))],
  ['registerAutocastPolicy', 'ERR_INVALID_VALUE', () => o.registerAutocastPolicy('cpu', bad({ ...policy, float32: 'sum' }))],
  ['registerAutocastPolicy', 'ERR_INVALID_VALUE', () => o.registerAutocastPolicy('cpu', policy, bad('float16'))],
  ['registerAutocastPolicy', 'ERR_INVALID_VALUE', () => o.registerAutocastPolicy('cpu', policy, bad(null))],
  ['registerAutocastPolicy', 'ERR_INVALID_VALUE', () => o.registerAutocastPolicy(bad(null), policy)],
  // Library
  ['Library', 'ERR_INVALID_VALUE', () => new o.Library(bad(null))],
  ['Library', 'ERR_INVALID_VALUE', () => new o.Library('a b')],
  ['library.define', 'ERR_INVALID_VALUE', () => new o.Library('badinput1').define(bad(null))],
  ['library.define', 'ERR_INVALID_VALUE', () => new o.Library('badinput2').define('f(Tensor x) -> Bogus')],
  ['library.define', 'ERR_INVALID_VALUE', () => new o.Library('badinput3').define('f(Bogus x) -> Tensor')],
  ['library.define', 'ERR_INVALID_VALUE', () => new o.Library('badinput4').define('f(Tensor x, int n=abc) -> Tensor')],
  ['library.define', 'ERR_INVALID_VALUE', () => new o.Library('badinput5').define('f(Tensor(a!) x) -> Tensor(b!)')],
  ['library.define', 'ERR_INVALID_VALUE', () => dead.define('f(Tensor x) -> Tensor')],
  ['library.define', 'ERR_INVALID_VALUE', () => lib.define('scale(Tensor x) -> Tensor')],
  ['library.impl', 'ERR_INVALID_VALUE', () => lib.impl('scale', 'openreg', () => 0)],
  ['library.impl', 'ERR_INVALID_VALUE', () => lib.impl('scale', 'cpu', bad(null))],
  ['library.impl', 'ERR_INVALID_VALUE', () => lib.impl(bad(null), 'cpu', () => 0)],
  ['library.impl', 'ERR_INVALID_VALUE', () => lib.impl('scale', bad(null), () => 0)],
  ['library.impl', 'ERR_INVALID_VALUE', () => dead.impl('badinputns::scale', 'cpu', () => 0)],
  ['library.registerAutograd', 'ERR_INVALID_VALUE', () => lib.registerAutograd('scale', bad(null))],
  ['library.registerAutograd', 'ERR_INVALID_VALUE', () => lib.registerAutograd(bad(null), (_c, g) => g)],
  ['library.registerAutograd', 'ERR_INVALID_VALUE', () => lib.registerAutograd('nope', (_c, g) => g)],
  ['library.registerAutograd', 'ERR_INVALID_VALUE', () => lib.registerAutograd('scale', (_c, g) => g, bad(null))],
  ['library.registerAutograd', 'ERR_INVALID_VALUE', () => lib.registerAutograd('scale', (_c, g) => g, bad({ setup: () => 0 }))],
  ['library.registerAutograd', 'ERR_INVALID_VALUE', () => lib.registerAutograd('scale', (_c, g) => g, { setupContext: bad(5) })],
  ['library.registerAutograd', 'ERR_INVALID_VALUE', () => dead.registerAutograd('badinputns::scale', (_c, g) => g)],
  // callOp
  ['callOp', 'ERR_INVALID_VALUE', () => o.callOp(bad(null))],
  ['callOp', 'ERR_INVALID_VALUE', () => o.callOp('badinputns::nope', x)],
  ['callOp', 'ERR_INVALID_VALUE', () => o.callOp('badinputns::scale', x)],
  ['callOp', 'ERR_INVALID_VALUE', () => o.callOp('badinputns::scale', x, 2, 1, 'extra')],
  ['callOp', 'ERR_INVALID_VALUE', () => o.callOp('badinputns::scale', x, 1.5)],
  ['callOp', 'ERR_INVALID_VALUE', () => o.callOp('badinputns::scale', x, Number.NaN)],
  ['callOp', 'ERR_INVALID_VALUE', () => o.callOp('badinputns::scale', x, null)],
  ['callOp', 'ERR_INVALID_VALUE', () => o.callOp('badinputns::scale', x, 2, 'k')],
  ['callOp', 'ERR_INVALID_VALUE', () => o.callOp('badinputns::scale', bad([x]), 2)],
  ['callOp', 'ERR_INVALID_VALUE', () => o.callOp('badinputns::scale', x.to('openreg:0'), 2, bad(o.zeros([1], { device: 'openreg:1' })))],
  ['callOp', 'ERR_INVALID_VALUE', () => o.callOp('badinputns::ret5', x)],
  ['callOp', 'ERR_INVALID_VALUE', () => o.callOp('badinputns::wrongdev', x)],
  ['callOp', 'ERR_INVALID_VALUE', () => o.callOp('transpose.int', x, 0.5, 0)],
  ['callOp', 'ERR_INVALID_VALUE', () => o.callOp('neg', x, x)],
  ['callOp', 'ERR_INVALID_VALUE', () => o.callOp('full', [2], 1, 'float32', 'cuda')],
  ['callOp', 'ERR_INVALID_DEVICE', () => o.callOp('full', [2], 1, 'float32', 'openreg:9')],
  // registerStub
  ['registerStub', 'ERR_INVALID_VALUE', () => o.registerStub('bogus_stub', 'cpu', () => undefined)],
  ['registerStub', 'ERR_INVALID_VALUE', () => o.registerStub(bad(null), 'cpu', () => undefined)],
  ['registerStub', 'ERR_INVALID_VALUE', () => o.registerStub('abs_stub', 'meta', bad(null))],
  ['registerStub', 'ERR_INVALID_VALUE', () => o.registerStub('abs_stub', 'cpu', () => undefined)],
  // Extra arguments are refused, never ignored.
  ['autocast', 'ERR_INVALID_VALUE', () => (o.autocast as (...a: unknown[]) => unknown)({}, () => 1, 'extra')],
  ['AutocastGuard', 'ERR_INVALID_VALUE', () => new (o.AutocastGuard as unknown as new (...a: unknown[]) => unknown)({}, 'extra')],
  ['isAutocastEnabled', 'ERR_INVALID_VALUE', () => (o.isAutocastEnabled as (...a: unknown[]) => unknown)('openreg', 'extra')],
  ['Library', 'ERR_INVALID_VALUE', () => new (o.Library as unknown as new (...a: unknown[]) => unknown)('extra_ns', 'extra')],
  ['kernelsOf', 'ERR_INVALID_VALUE', () => (o.kernelsOf as (...a: unknown[]) => unknown)('add.Tensor', 'extra')],
  ['promoteTypes', 'ERR_INVALID_VALUE', () => (o.promoteTypes as (...a: unknown[]) => unknown)('float32', 'int32', 'extra')],
  ['manualSeed', 'ERR_INVALID_VALUE', () => (o.manualSeed as (...a: unknown[]) => unknown)(1, 'extra')],
];

testBadCalls(CASES);

it('bad input changes nothing: autocast is off, the ops and the devices still work', async () => {
  expect(o.isAutocastEnabled('openreg')).toBe(false);
  expect(o.isAutocastEnabled('cpu')).toBe(false);
  expect(o.autocast({ deviceType: 'cpu' }, () => o.zeros([2, 2]).mm(o.zeros([2, 2])).dtype)).toBe('bfloat16'); // the cpu policy is intact
  expect(await (o.callOp('badinputns::scale', x, 2) as o.Tensor).toArray()).toEqual([1, 2]);
  lib.dispose();
});

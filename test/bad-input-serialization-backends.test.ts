import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { backendApi as api } from '../dist/src/backends/backend-api.js';
import * as o from '../dist/src/index.js';
import { useTensorRuntime } from './helpers.js';
import { testBadCalls } from './bad-calls.js';

// Every public call of serialization and backend loading refuses bad input with a coded
// error naming the call; the Promise-returning ones reject and never throw.
let rt: o.Runtime;
useTensorRuntime({ deviceCount: 1 }, (r) => (rt = r));
const empty = mkdtempSync(join(tmpdir(), 'openreg-bad-input-'));
afterAll(() => rmSync(empty, { recursive: true, force: true }));

const bad = (v: unknown) => v as never;
const ASYNC = new Set(['save', 'load', 'loadMetadata', 'loadBackend', 'autoloadBackends']);
const callbacks = { serialize: () => ({}), deserialize: () => undefined };
let t: o.Tensor;
let disposed: o.Tensor;
let bytes: Uint8Array;
beforeAll(async () => {
  t = o.tensor([1, 2]);
  disposed = o.tensor([1]);
  disposed.dispose();
  bytes = (await o.save({ t }))!;
});

const CASES: [call: string, code: string, fn: () => unknown][] = [
  // save(tensors, path?, options?)
  ['save', 'ERR_INVALID_VALUE', () => o.save(bad(null))],
  ['save', 'ERR_INVALID_VALUE', () => o.save(bad(5))],
  ['save', 'ERR_INVALID_VALUE', () => o.save(bad('x'))],
  ['save', 'ERR_INVALID_VALUE', () => o.save(bad([t]))],
  ['save', 'ERR_INVALID_VALUE', () => o.save(bad(t))],
  ['save', 'ERR_INVALID_VALUE', () => o.save(bad(Promise.resolve({ t })))],
  ['save', 'ERR_INVALID_VALUE', () => o.save({ t: bad(5) })],
  ['save', 'ERR_INVALID_VALUE', () => o.save({ t: bad(null) })],
  ['save', 'ERR_INVALID_VALUE', () => o.save({ t: Object.create(o.Tensor.prototype) })],
  ['save', 'ERR_INVALID_VALUE', () => o.save({ t: disposed })],
  ['save', 'ERR_INVALID_VALUE', () => o.save({ '': t })],
  ['save', 'ERR_INVALID_VALUE', () => o.save({ __metadata__: t })],
  ['save', 'ERR_INVALID_VALUE', () => o.save(new Map([[bad(5), t]]))],
  ['save', 'ERR_INVALID_VALUE', () => o.save(bad({ [Symbol('s')]: t }))],
  ['save', 'ERR_INVALID_VALUE', () => o.save({ t: o.zeros([2], { device: 'meta' }) })],
  ['save', 'ERR_INVALID_VALUE', () => o.save({ t }, bad(null))],
  ['save', 'ERR_INVALID_VALUE', () => o.save({ t }, bad(5))],
  ['save', 'ERR_INVALID_VALUE', () => o.save({ t }, bad(Number.NaN))],
  ['save', 'ERR_INVALID_VALUE', () => o.save({ t }, bad({}))],
  ['save', 'ERR_INVALID_VALUE', () => o.save({ t }, '')],
  ['save', 'ERR_INVALID_VALUE', () => o.save({ t }, join(empty, 'a\0b'))],
  ['save', 'ERR_INVALID_VALUE', () => o.save({ t }, join(empty, 'missing', 'x.safetensors'))],
  ['save', 'ERR_INVALID_VALUE', () => o.save({ t }, empty)],
  ['save', 'ERR_INVALID_VALUE', () => o.save({ t }, undefined, bad(null))],
  ['save', 'ERR_INVALID_VALUE', () => o.save({ t }, undefined, bad(5))],
  ['save', 'ERR_INVALID_VALUE', () => o.save({ t }, undefined, bad({ bogus: 1 }))],
  ['save', 'ERR_INVALID_VALUE', () => o.save({ t }, undefined, { metadata: bad(null) })],
  ['save', 'ERR_INVALID_VALUE', () => o.save({ t }, undefined, { metadata: bad(5) })],
  ['save', 'ERR_INVALID_VALUE', () => o.save({ t }, undefined, { metadata: bad('abc') })],
  ['save', 'ERR_INVALID_VALUE', () => o.save({ t }, undefined, { metadata: bad(['a']) })],
  ['save', 'ERR_INVALID_VALUE', () => o.save({ t }, undefined, { metadata: { n: bad(1) } })],
  ['save', 'ERR_INVALID_VALUE', () => o.save({ t }, undefined, { metadata: { n: bad(null) } })],
  ['save', 'ERR_INVALID_VALUE', () => o.save({ t }, undefined, { metadata: { 'openreg.x': 'y' } })],
  ['save', 'ERR_INVALID_VALUE', () => (o.save as (...a: unknown[]) => unknown)({ t }, undefined, {}, 'extra')],
  // load(source, options?)
  ['load', 'ERR_INVALID_VALUE', () => o.load(bad(null))],
  ['load', 'ERR_INVALID_VALUE', () => o.load(bad(undefined))],
  ['load', 'ERR_INVALID_VALUE', () => o.load(bad(5))],
  ['load', 'ERR_INVALID_VALUE', () => o.load(bad(Number.NaN))],
  ['load', 'ERR_INVALID_VALUE', () => o.load(bad({}))],
  ['load', 'ERR_INVALID_VALUE', () => o.load(bad(new ArrayBuffer(8)))],
  ['load', 'ERR_INVALID_VALUE', () => o.load(bad(new Uint16Array(4)))],
  ['load', 'ERR_INVALID_VALUE', () => o.load('')],
  ['load', 'ERR_INVALID_VALUE', () => o.load('x')],
  ['load', 'ERR_INVALID_VALUE', () => o.load(join(empty, 'a\0b'))],
  ['load', 'ERR_INVALID_VALUE', () => o.load(empty)],
  ['load', 'ERR_INVALID_VALUE', () => o.load(bytes, bad(null))],
  ['load', 'ERR_INVALID_VALUE', () => o.load(bytes, bad(5))],
  ['load', 'ERR_INVALID_VALUE', () => o.load(bytes, bad({ bogus: 1 }))],
  ['load', 'ERR_INVALID_VALUE', () => o.load(bytes, { mapLocation: bad(null) })],
  ['load', 'ERR_INVALID_VALUE', () => o.load(bytes, { mapLocation: bad(Number.NaN) })],
  ['load', 'ERR_INVALID_VALUE', () => o.load(bytes, { mapLocation: bad({}) })],
  ['load', 'ERR_INVALID_VALUE', () => o.load(bytes, { mapLocation: bad(true) })],
  ['load', 'ERR_INVALID_VALUE', () => o.load(bytes, { mapLocation: 'x' })],
  ['load', 'ERR_INVALID_DEVICE', () => o.load(bytes, { mapLocation: 'openreg:9' })],
  ['load', 'ERR_INVALID_VALUE', () => o.load(bytes, { mapLocation: () => bad(undefined) })],
  ['load', 'ERR_INVALID_VALUE', () => o.load(bytes, { mapLocation: () => bad(null) })],
  ['load', 'ERR_INVALID_VALUE', () => o.load(bytes, { mapLocation: () => bad(Promise.resolve('cpu')) })],
  ['load', 'ERR_INVALID_VALUE', () => o.load(bytes, { mapLocation: () => bad(JSON.parse('x')) })],
  ['load', 'ERR_INVALID_VALUE', () => o.load(bad(Promise.resolve(bytes)))],
  ['load', 'ERR_INVALID_VALUE', () => (o.load as (...a: unknown[]) => unknown)(bytes, {}, 'extra')],
  // loadMetadata(source)
  ['loadMetadata', 'ERR_INVALID_VALUE', () => o.loadMetadata(bad(null))],
  ['loadMetadata', 'ERR_INVALID_VALUE', () => o.loadMetadata(bad(5))],
  ['loadMetadata', 'ERR_INVALID_VALUE', () => o.loadMetadata(bad({}))],
  ['loadMetadata', 'ERR_INVALID_VALUE', () => o.loadMetadata(bad(Number.NaN))],
  ['loadMetadata', 'ERR_INVALID_VALUE', () => o.loadMetadata('')],
  ['loadMetadata', 'ERR_INVALID_VALUE', () => o.loadMetadata('x')],
  ['loadMetadata', 'ERR_INVALID_VALUE', () => o.loadMetadata(join(empty, 'a\0b'))],
  ['loadMetadata', 'ERR_INVALID_VALUE', () => o.loadMetadata(empty)],
  ['loadMetadata', 'ERR_INVALID_VALUE', () => (o.loadMetadata as (...a: unknown[]) => unknown)(bytes, {})],
  // registerSerialization(deviceType, callbacks)
  ['registerSerialization', 'ERR_INVALID_VALUE', () => (o.registerSerialization as (...a: unknown[]) => unknown)('bogus')],
  ['registerSerialization', 'ERR_INVALID_VALUE', () => o.registerSerialization('bogus', callbacks)],
  ['registerSerialization', 'ERR_INVALID_VALUE', () => o.registerSerialization('meta', callbacks)],
  ['registerSerialization', 'ERR_INVALID_VALUE', () => o.registerSerialization('Openreg', callbacks)],
  ['registerSerialization', 'ERR_INVALID_VALUE', () => o.registerSerialization(bad(null), callbacks)],
  ['registerSerialization', 'ERR_INVALID_VALUE', () => o.registerSerialization(bad(5), callbacks)],
  ['registerSerialization', 'ERR_INVALID_VALUE', () => o.registerSerialization(bad({}), callbacks)],
  ['registerSerialization', 'ERR_INVALID_VALUE', () => o.registerSerialization('cpu', bad(undefined))],
  ['registerSerialization', 'ERR_INVALID_VALUE', () => o.registerSerialization('cpu', bad(null))],
  ['registerSerialization', 'ERR_INVALID_VALUE', () => o.registerSerialization('cpu', bad(5))],
  ['registerSerialization', 'ERR_INVALID_VALUE', () => o.registerSerialization('cpu', bad({}))],
  ['registerSerialization', 'ERR_INVALID_VALUE', () => o.registerSerialization('cpu', { ...callbacks, serialize: bad(5) })],
  ['registerSerialization', 'ERR_INVALID_VALUE', () => o.registerSerialization('cpu', { ...callbacks, deserialize: bad(null) })],
  ['registerSerialization', 'ERR_INVALID_VALUE', () => o.registerSerialization('cpu', bad({ ...callbacks, extra: 1 }))],
  ['registerSerialization', 'ERR_INVALID_VALUE', () => o.registerSerialization('openreg', callbacks)],
  ['registerSerialization', 'ERR_INVALID_VALUE', () => (o.registerSerialization as (...a: unknown[]) => unknown)('cpu', callbacks, 'extra')],
  // loadBackend(dir)
  ['loadBackend', 'ERR_INVALID_VALUE', () => o.loadBackend(bad(null))],
  ['loadBackend', 'ERR_INVALID_VALUE', () => o.loadBackend(bad(undefined))],
  ['loadBackend', 'ERR_INVALID_VALUE', () => o.loadBackend(bad(5))],
  ['loadBackend', 'ERR_INVALID_VALUE', () => o.loadBackend(bad({}))],
  ['loadBackend', 'ERR_INVALID_VALUE', () => o.loadBackend(bad(Number.NaN))],
  ['loadBackend', 'ERR_INVALID_VALUE', () => o.loadBackend('')],
  ['loadBackend', 'ERR_INVALID_VALUE', () => o.loadBackend('x')],
  ['loadBackend', 'ERR_INVALID_VALUE', () => o.loadBackend(join(empty, 'a\0b'))],
  ['loadBackend', 'ERR_INVALID_VALUE', () => o.loadBackend(join(empty, 'missing'))],
  ['loadBackend', 'ERR_INVALID_VALUE', () => o.loadBackend(empty)],
  ['loadBackend', 'ERR_INVALID_VALUE', () => (o.loadBackend as (...a: unknown[]) => unknown)(empty, {})],
  // discoverBackends(from?), loadedBackends(), autoloadBackends()
  ['discoverBackends', 'ERR_INVALID_VALUE', () => o.discoverBackends(bad(null))],
  ['discoverBackends', 'ERR_INVALID_VALUE', () => o.discoverBackends(bad(5))],
  ['discoverBackends', 'ERR_INVALID_VALUE', () => o.discoverBackends(bad({}))],
  ['discoverBackends', 'ERR_INVALID_VALUE', () => o.discoverBackends(bad(Number.NaN))],
  ['discoverBackends', 'ERR_INVALID_VALUE', () => o.discoverBackends('')],
  ['discoverBackends', 'ERR_INVALID_VALUE', () => o.discoverBackends(join(empty, 'a\0b'))],
  ['discoverBackends', 'ERR_INVALID_VALUE', () => o.discoverBackends(join(empty, 'missing'))],
  ['discoverBackends', 'ERR_INVALID_VALUE', () => (o.discoverBackends as (...a: unknown[]) => unknown)(empty, {})],
  ['loadedBackends', 'ERR_INVALID_VALUE', () => (o.loadedBackends as (...a: unknown[]) => unknown)(5)],
  // the api a backend's register(api) receives
  ['hostExecutor', 'ERR_INVALID_VALUE', () => api.hostExecutor(bad(null))],
  ['hostExecutor', 'ERR_INVALID_VALUE', () => api.hostExecutor(bad(5))],
  ['hostExecutor', 'ERR_INVALID_VALUE', () => api.hostExecutor(o.device('cpu'))],
  ['runtimeExecutor', 'ERR_INVALID_VALUE', () => api.runtimeExecutor(bad(null), o.device('openreg:0'))],
  ['runtimeExecutor', 'ERR_INVALID_VALUE', () => api.runtimeExecutor(bad({}), o.device('openreg:0'))],
  ['runtimeExecutor', 'ERR_INVALID_DEVICE', () => api.runtimeExecutor(rt, o.device('openreg:3'))],
  ['runtimeExecutor', 'ERR_INVALID_VALUE', () => api.runtimeExecutor(rt, bad(5))],
  ['implementBuiltins', 'ERR_INVALID_VALUE', () => api.implementBuiltins(bad(5))],
  ['implementBuiltins', 'ERR_INVALID_VALUE', () => api.implementBuiltins('bogus')],
  ['implementBuiltins', 'ERR_INVALID_VALUE', () => api.implementBuiltins('cpu')],
  ['implementBuiltins', 'ERR_INVALID_VALUE', () => api.implementBuiltins('openreg', bad(5))],
  ['implementBuiltins', 'ERR_INVALID_VALUE', () => api.implementBuiltins('openreg', bad([5]))],
  ['autoloadBackends', 'ERR_INVALID_VALUE', () => (o.autoloadBackends as (...a: unknown[]) => unknown)({})],
];

testBadCalls(CASES, ASYNC);

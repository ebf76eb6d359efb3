import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, Runtime, forEachSeed, shutdownCpuPool, zeros } from '../dist/src/index.js';
import { deviceTime } from '../dist/src/testing/bench.js';
import { createRuntime, expectCode } from './helpers.js';
import { testBadCalls } from './bad-calls.js';

// The sanitizer, fault-injection, schedule and bench calls reject bad input with a coded error
// naming the call the user made: null and wrong types are checked, never taken as
// defaults, and unknown option keys are refused.
let rt: Runtime;
beforeAll(async () => {
  rt = await createRuntime({ deviceCount: 1 });
});
afterAll(async () => {
  await rt?.close();
  await shutdownCpuPool();
});

const bad = (v: unknown) => v as never;
const view = () => new Uint8Array(4);
const kernelFault = { at: 'kernel', error: 'ERR_LAUNCH_FAILURE' } as const;
const V = ErrorCode.INVALID_VALUE;

const CASES: [call: string, code: string, fn: () => unknown][] = [
  ['sanitizer.enable', V, () => rt.sanitizer.enable(bad(null))],
  ['sanitizer.enable', V, () => rt.sanitizer.enable(bad(5))],
  ['sanitizer.enable', V, () => rt.sanitizer.enable(bad('x'))],
  ['sanitizer.enable', V, () => rt.sanitizer.enable(bad([]))],
  ['sanitizer.enable', V, () => rt.sanitizer.enable(bad({ bogus: 1 }))],
  ['sanitizer.enable', V, () => rt.sanitizer.enable(bad({ mode: null }))],
  ['sanitizer.enable', V, () => rt.sanitizer.enable(bad({ mode: 'x' }))],
  ['sanitizer.enable', V, () => rt.sanitizer.enable(bad({ mode: Number.NaN }))],
  ['sanitizer.enable', V, () => rt.sanitizer.enable(bad({ stacks: null }))],
  ['sanitizer.enable', V, () => rt.sanitizer.enable(bad({ stacks: 'x' }))],
  ['sanitizer.enable', V, () => rt.sanitizer.enable(bad({ stacks: 1 }))],
  ['sanitizer.checkHostAccess', V, () => rt.sanitizer.checkHostAccess(bad(5))],
  ['sanitizer.checkHostAccess', V, () => rt.sanitizer.checkHostAccess(bad(null))],
  ['sanitizer.checkHostAccess', V, () => rt.sanitizer.checkHostAccess(bad(undefined))],
  ['sanitizer.checkHostAccess', V, () => rt.sanitizer.checkHostAccess(bad(new ArrayBuffer(4)))],
  ['sanitizer.checkHostAccess', V, () => rt.sanitizer.checkHostAccess(bad('x'))],
  ['sanitizer.checkHostAccess', V, () => rt.sanitizer.checkHostAccess(bad({}))],
  ['sanitizer.checkHostAccess', V, () => rt.sanitizer.checkHostAccess(view(), bad(null))],
  ['sanitizer.checkHostAccess', V, () => rt.sanitizer.checkHostAccess(view(), bad('x'))],
  ['sanitizer.checkHostAccess', V, () => rt.sanitizer.checkHostAccess(view(), bad(5))],
  ['faults.inject', V, () => rt.faults.inject(bad(undefined))],
  ['faults.inject', V, () => rt.faults.inject(bad(null))],
  ['faults.inject', V, () => rt.faults.inject(bad(5))],
  ['faults.inject', V, () => rt.faults.inject(bad('x'))],
  ['faults.inject', V, () => rt.faults.inject(bad([]))],
  ['faults.inject', V, () => rt.faults.inject(bad({}))],
  ['faults.inject', V, () => rt.faults.inject(bad({ ...kernelFault, at: null }))],
  ['faults.inject', V, () => rt.faults.inject(bad({ ...kernelFault, at: 'x' }))],
  ['faults.inject', V, () => rt.faults.inject(bad({ ...kernelFault, error: null }))],
  ['faults.inject', V, () => rt.faults.inject(bad({ ...kernelFault, error: 'x' }))],
  ['faults.inject', V, () => rt.faults.inject(bad({ ...kernelFault, error: 'ERR_OUT_OF_MEMORY' }))],
  ['faults.inject', V, () => rt.faults.inject(bad({ at: 'malloc', error: 'ERR_LAUNCH_FAILURE' }))],
  ['faults.inject', V, () => rt.faults.inject(bad({ ...kernelFault, nth: null }))],
  ['faults.inject', V, () => rt.faults.inject(bad({ ...kernelFault, nth: 0 }))],
  ['faults.inject', V, () => rt.faults.inject(bad({ ...kernelFault, nth: 1.5 }))],
  ['faults.inject', V, () => rt.faults.inject(bad({ ...kernelFault, nth: Number.NaN }))],
  ['faults.inject', V, () => rt.faults.inject(bad({ ...kernelFault, nth: '1' }))],
  ['faults.inject', V, () => rt.faults.inject(bad({ ...kernelFault, bogus: 1 }))],
  ['faults.inject', V, () => rt.faults.inject(bad({ ...kernelFault, Nth: 2 }))],
  ['faults.inject', ErrorCode.INVALID_DEVICE, () => rt.faults.inject(bad({ ...kernelFault, device: null }))],
  ['faults.inject', ErrorCode.INVALID_DEVICE, () => rt.faults.inject(bad({ ...kernelFault, device: 'x' }))],
  ['faults.inject', ErrorCode.INVALID_DEVICE, () => rt.faults.inject(bad({ ...kernelFault, device: 9 }))],
  ['setSchedule', V, () => rt.setSchedule(bad(null))],
  ['setSchedule', V, () => rt.setSchedule(bad(5))],
  ['setSchedule', V, () => rt.setSchedule(bad('x'))],
  ['setSchedule', V, () => rt.setSchedule(bad([]))],
  ['setSchedule', V, () => rt.setSchedule(bad({}))],
  ['setSchedule', V, () => rt.setSchedule(bad({ seed: null }))],
  ['setSchedule', V, () => rt.setSchedule(bad({ seed: -1 }))],
  ['setSchedule', V, () => rt.setSchedule(bad({ seed: 2 ** 32 }))],
  ['setSchedule', V, () => rt.setSchedule(bad({ seed: 1.5 }))],
  ['setSchedule', V, () => rt.setSchedule(bad({ seed: Number.NaN }))],
  ['setSchedule', V, () => rt.setSchedule(bad({ seed: 1, mode: null }))],
  ['setSchedule', V, () => rt.setSchedule(bad({ seed: 1, mode: 'fifo' }))],
  ['setSchedule', V, () => rt.setSchedule(bad({ seed: 1, maxDelayUs: null }))],
  ['setSchedule', V, () => rt.setSchedule(bad({ seed: 1, maxDelayUs: -1 }))],
  ['setSchedule', V, () => rt.setSchedule(bad({ seed: 1, bogus: 1 }))],
  ['deviceTime', V, () => deviceTime(bad(5), () => 0)],
  ['deviceTime', V, () => deviceTime(rt, bad(null))],
  ['deviceTime', V, () => deviceTime(rt, () => 0, bad(null))],
  ['deviceTime', V, () => deviceTime(rt, () => 0, bad({ bogus: 1 }))],
  ['deviceTime', V, () => deviceTime(rt, () => 0, bad({ stream: null }))],
  ['deviceTime', V, () => deviceTime(rt, () => 0, bad({ stream: 5 }))],
  ['forEachSeed', V, () => forEachSeed(bad(-1), () => 0)],
  ['forEachSeed', V, () => forEachSeed(bad(2.5), () => 0)],
  ['forEachSeed', V, () => forEachSeed(2, bad(null))],
  ['forEachSeed', V, () => forEachSeed(2, () => 0, bad({ first: 1 }))],
  ['forEachSeed', V, () => forEachSeed(2, () => 0, bad({ firstSeed: -1 }))],
  ['Runtime.create', V, () => Runtime.create(bad({ sanitize: 5 }))],
  ['Runtime.create', V, () => Runtime.create(bad({ sanitize: null }))],
  ['Runtime.create', V, () => Runtime.create(bad({ sanitize: [] }))],
  ['Runtime.create', V, () => Runtime.create(bad({ sanitize: { bogus: 1 } }))],
  ['Runtime.create', V, () => Runtime.create(bad({ sanitize: { mode: 'x' } }))],
  ['Runtime.create', V, () => Runtime.create(bad({ sanitize: { stacks: null } }))],
  ['Runtime.create', V, () => Runtime.create(bad({ schedule: null }))],
  ['Runtime.create', V, () => Runtime.create(bad({ schedule: { seed: 1, bogus: 1 } }))],
  // Extra arguments are refused, never ignored.
  ['sanitizer.disable', 'ERR_INVALID_VALUE', () => (rt.sanitizer.disable as (...a: unknown[]) => unknown).call(rt.sanitizer, 'extra')],
  ['faults.clear', 'ERR_INVALID_VALUE', () => (rt.faults.clear as (...a: unknown[]) => unknown).call(rt.faults, 'extra')],
  ['Runtime.create', 'ERR_INVALID_VALUE', () => (Runtime.create as (...a: unknown[]) => unknown)({ deviceCount: 1 }, 'extra')],
];

/** Calls that return a Promise: they must reject, never throw. */
const ASYNC = new Set(['setSchedule', 'Runtime.create', 'forEachSeed']);

testBadCalls(CASES, ASYNC);

it('messages name the offending value and the option', () => {
  expect(expectCode(() => rt.sanitizer.enable(bad({ bogus: 1 })), V).message).toBe('sanitizer.enable: options has no option "bogus" (the options are mode, stacks)');
  expect(expectCode(() => rt.sanitizer.checkHostAccess(bad(new ArrayBuffer(4))), V).message).toMatch(/^sanitizer\.checkHostAccess: view must be an ArrayBufferView .*, got ArrayBuffer/);
  expect(expectCode(() => rt.faults.inject(bad({ ...kernelFault, nth: null })), V).message).toBe('faults.inject: options.nth must be an integer >= 1, got null');
});

it('a refused call changes nothing: no mode half-set, no fault armed, the devices still work', async () => {
  rt.sanitizer.enable({ mode: 'throw' });
  expectCode(() => rt.sanitizer.enable(bad({ mode: 'collect', stacks: 5 })), V);
  expect(rt.sanitizer.mode).toBe('throw');
  rt.sanitizer.disable();
  expect(rt.sanitizer.enabled).toBe(false);
  expect(rt.faults.pending).toBe(0);
  const p = rt.malloc(64);
  rt.memsetSync(p, 1, 64);
  rt.free(p);
});

describe("faults.inject({ at: 'malloc' }) as the README documents it", () => {
  const oom = { at: 'malloc', error: 'ERR_OUT_OF_MEMORY' } as const;

  it('rt.malloc throws at the first injected failure', () => {
    rt.faults.inject(oom);
    expect(expectCode(() => rt.malloc(64), ErrorCode.OUT_OF_MEMORY).message).toBe('malloc: cannot allocate 64 bytes on device 0: an injected fault (rt.faults.inject)');
    expect(rt.faults.pending).toBe(0);
  });

  it('the caching allocator absorbs one or two: it frees its cache and retries, and the allocation succeeds', () => {
    for (const faults of [1, 2]) {
      rt.cachingAllocator.emptyCache();
      const retries = rt.cachingAllocator.memoryStats().numAllocRetries;
      for (let nth = 1; nth <= faults; nth++) rt.faults.inject({ ...oom, nth });
      const t = zeros([16], { device: 'openreg' });
      expect(rt.faults.pending).toBe(0);
      expect(rt.cachingAllocator.memoryStats().numAllocRetries).toBe(retries + 1);
      t.dispose();
    }
  });

  it('a cached block serves the allocation without a malloc: the fault stays armed', () => {
    const kept = zeros([16], { device: 'openreg' });
    kept.dispose(); // its block stays cached
    const dispose = rt.faults.inject(oom);
    const t = zeros([16], { device: 'openreg' });
    expect(rt.faults.pending).toBe(1);
    dispose();
    t.dispose();
  });

  it('the recipe: empty the cache, arm three consecutive failures, and the caller sees ERR_OUT_OF_MEMORY', () => {
    rt.cachingAllocator.emptyCache();
    for (const nth of [1, 2, 3]) rt.faults.inject({ ...oom, nth });
    const error = expectCode(() => zeros([16], { device: 'openreg' }), ErrorCode.OUT_OF_MEMORY);
    expect(error.message).toMatch(/out of memory on device 0: tried to allocate 64 bytes/);
    expect(rt.faults.pending).toBe(0);
    expect(rt.cachingAllocator.memoryStats().numOoms).toBe(1);
    zeros([16], { device: 'openreg' }).dispose(); // nothing is left broken
  });
});

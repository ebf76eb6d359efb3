import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, Event, type Generator, type Kernel, type KernelModule, OpenRegError, Runtime, Stream } from '../dist/src/index.js';
import { createRuntime, kernelsUrl } from './helpers.js';

// Every public call, with bad values in each argument position in turn: each must fail with
// an OpenRegError whose code is one of ErrorCode's and whose message names the call the
// user made (a Promise-returning call rejects, never throws). Values a call documents as
// accepted are listed per row in `ok`; any other value that does not fail is a finding.

const CODES = new Set<string>(Object.values(ErrorCode));
const fn = () => 0;
const BAD: readonly unknown[] = [undefined, null, Number.NaN, -1, 1.5, 2 ** 53, '0', {}, [], fn];

interface Row {
  /** The public call, as the message must name it. */
  call: string;
  /** Calls the API with `bad` in one argument position. */
  run: (bad: unknown) => unknown;
  /** Values of BAD (or of `extra`) this position accepts. */
  ok?: readonly unknown[];
  /** Bad values beyond BAD: malformed, destroyed, foreign or freed handles and pointers. */
  extra?: () => readonly unknown[];
  /** Returns a Promise: failures must be rejections. */
  async?: boolean;
}

let rt: Runtime;
let other: Runtime;
let mod: KernelModule;
let kernel: Kernel;
let stream: Stream;
let event: Event;
let ptr: number;
let pinned: Uint8Array;
let generator: Generator;
let block: { ptr: number };
let view: Uint8Array;
let destroyedStream: Stream;
let destroyedEvent: Event;
let freedPtr: number;

const host = new Uint8Array(64);
const streams = (): unknown[] => [Object.create(Stream.prototype), destroyedStream, other.defaultStream(), event];
const events = (): unknown[] => [Object.create(Event.prototype), destroyedEvent, other.eventCreate(), stream];
const pointers = (): unknown[] => [freedPtr, ptr + (4 << 20)];

beforeAll(async () => {
  rt = await createRuntime();
  other = await createRuntime({ deviceCount: 1, deviceMemoryBytes: 1 << 20, hostMemoryBytes: 1 << 20 });
  mod = await rt.loadModule(kernelsUrl);
  kernel = mod.getFunction('empty');
  stream = rt.streamCreate();
  event = rt.eventCreate();
  ptr = rt.malloc(4096);
  pinned = rt.mallocHost(64);
  generator = rt.newGenerator(0);
  block = rt.cachingAllocator.allocate(64);
  view = rt.hostAllocator.allocate(64);
  destroyedStream = rt.streamCreate();
  destroyedStream.destroy();
  destroyedEvent = rt.eventCreate();
  destroyedEvent.destroy();
  freedPtr = rt.malloc(64);
  rt.free(freedPtr);
});

afterAll(async () => {
  rmSync(join(tmpdir(), `openreg-bad-input-${process.pid}-0.json`), { force: true });
  await other?.close();
  await rt?.close();
});

const rows: Record<string, Row[]> = {
  devices: [
    { call: 'setDevice', run: (b) => rt.setDevice(b as number) },
    { call: 'exchangeDevice', run: (b) => rt.exchangeDevice(b as number) },
    { call: 'withDevice', run: (b) => rt.withDevice(b as number, fn) },
    { call: 'withDevice', run: (b) => rt.withDevice(0, b as () => 0), ok: [fn] },
    { call: 'deviceReset', run: (b) => rt.deviceReset(b as number), async: true },
    { call: 'deviceStats', run: (b) => rt.deviceStats(b as number), async: true },
    { call: 'deviceGuard', run: (b) => rt.deviceGuard(b as number) },
    { call: 'optionalDeviceGuard', run: (b) => rt.optionalDeviceGuard(b as number), ok: [undefined, null] },
    { call: 'observe', run: (b) => rt.observe(b as never)(), ok: [{}, []] },
    { call: 'observe', run: (b) => rt.observe({ kernelLaunch: b as never })(), ok: [undefined, fn] },
  ],
  memory: [
    { call: 'malloc', run: (b) => rt.malloc(b as number) },
    { call: 'free', run: (b) => rt.free(b as number), extra: pointers },
    { call: 'mallocHost', run: (b) => rt.mallocHost(b as number) },
    { call: 'freeHost', run: (b) => rt.freeHost(b as Uint8Array), extra: () => [pinned.subarray(1), new Uint8Array(8)] },
    { call: 'isPinned', run: (b) => rt.isPinned(b as Uint8Array) },
    { call: 'pointerGetAttributes', run: (b) => rt.pointerGetAttributes(b as number), ok: [Number.NaN, -1, 1.5, 2 ** 53] },
  ],
  copies: [
    { call: 'memcpySync', run: (b) => rt.memcpySync(b as number, host, 4), extra: pointers },
    { call: 'memcpySync', run: (b) => rt.memcpySync(ptr, b as number, 4), extra: pointers },
    { call: 'memcpySync', run: (b) => rt.memcpySync(ptr, host, b as number) },
    { call: 'memcpySync', run: (b) => rt.memcpySync(ptr, host, 4, b as never), ok: [undefined] },
    { call: 'memcpy', run: (b) => rt.memcpy(b as number, host, 4), extra: pointers, async: true },
    { call: 'memcpy', run: (b) => rt.memcpy(ptr, host, b as number), async: true },
    { call: 'memcpyAsync', run: (b) => rt.memcpyAsync(ptr, b as number, 4), extra: pointers },
    { call: 'memcpyAsync', run: (b) => rt.memcpyAsync(ptr, host, 4, 'default', b as Stream), ok: [undefined], extra: streams },
    { call: 'memset', run: (b) => rt.memset(b as number, 0, 4), extra: pointers, async: true },
    { call: 'memsetSync', run: (b) => rt.memsetSync(ptr, b as number, 4), ok: [-1, 2 ** 53] },
    { call: 'memsetSync', run: (b) => rt.memsetSync(ptr, 0, b as number) },
    { call: 'memsetAsync', run: (b) => rt.memsetAsync(ptr, 0, 4, b as Stream), ok: [undefined], extra: streams },
  ],
  streams: [
    { call: 'streamCreate', run: (b) => rt.streamCreate(b as never).destroy(), ok: [undefined, {}, []] },
    { call: 'streamCreate', run: (b) => rt.streamCreate({ priority: b as number }).destroy(), ok: [undefined, -1, 2 ** 53] },
    { call: 'streamCreate', run: (b) => rt.streamCreate({ nonBlocking: b as boolean }).destroy(), ok: [undefined] },
    { call: 'defaultStream', run: (b) => rt.defaultStream(b as number), ok: [undefined] },
    { call: 'streamGetPriority', run: (b) => rt.streamGetPriority(b as Stream), extra: streams },
    { call: 'streamQuery', run: (b) => rt.streamQuery(b as Stream), extra: streams },
    { call: 'streamSynchronize', run: (b) => rt.streamSynchronize(b as Stream), extra: streams, async: true },
    { call: 'streamSynchronizeSync', run: (b) => rt.streamSynchronizeSync(b as Stream), extra: streams },
    { call: 'streamSynchronize', run: (b) => rt.streamSynchronize(stream, b as never), ok: [undefined, {}, []], async: true },
    { call: 'streamSynchronize', run: (b) => rt.streamSynchronize(stream, { timeoutMs: b as number }), ok: [undefined, 1.5, 2 ** 53], async: true },
    { call: 'streamSynchronize', run: (b) => rt.streamSynchronize(stream, { signal: b as AbortSignal }), ok: [undefined], async: true },
    { call: 'streamSynchronizeSync', run: (b) => rt.streamSynchronizeSync(stream, { timeoutMs: b as number }), ok: [undefined, 1.5, 2 ** 53] },
    { call: 'streamWaitEvent', run: (b) => rt.streamWaitEvent(b as Stream, event), extra: streams },
    { call: 'streamWaitEvent', run: (b) => rt.streamWaitEvent(stream, b as Event), extra: events },
    { call: 'streamWaitStream', run: (b) => rt.streamWaitStream(stream, b as Stream), extra: streams },
    { call: 'streamDestroy', run: (b) => rt.streamDestroy(b as Stream), extra: streams },
    { call: 'getStreamFromPool', run: (b) => rt.getStreamFromPool(b as never), ok: [undefined, {}, []] },
    { call: 'getStreamFromPool', run: (b) => rt.getStreamFromPool({ device: b as number }), ok: [undefined] },
    { call: 'getStreamFromPool', run: (b) => rt.getStreamFromPool({ highPriority: b as boolean }), ok: [undefined] },
    { call: 'getCurrentStream', run: (b) => rt.getCurrentStream(b as number), ok: [undefined] },
    { call: 'setCurrentStream', run: (b) => rt.setCurrentStream(b as Stream), extra: streams },
    { call: 'withStream', run: (b) => rt.withStream(b as Stream, fn), extra: streams },
    { call: 'withStream', run: (b) => rt.withStream(stream, b as () => 0), ok: [fn] },
    { call: 'streamGuard', run: (b) => rt.streamGuard(b as Stream), extra: streams },
  ],
  events: [
    { call: 'eventCreate', run: (b) => rt.eventCreate(b as never).destroy(), ok: [undefined, {}, []] },
    { call: 'eventCreate', run: (b) => rt.eventCreate({ disableTiming: b as boolean }).destroy(), ok: [undefined] },
    { call: 'lazyEvent', run: (b) => rt.lazyEvent({ blockingSync: b as boolean }), ok: [undefined] },
    { call: 'eventRecord', run: (b) => rt.eventRecord(b as Event), extra: events },
    { call: 'eventRecord', run: (b) => rt.eventRecord(event, b as Stream), ok: [undefined], extra: streams },
    { call: 'eventQuery', run: (b) => rt.eventQuery(b as Event), extra: events },
    { call: 'eventSynchronize', run: (b) => rt.eventSynchronize(b as Event), extra: events, async: true },
    { call: 'eventSynchronizeSync', run: (b) => rt.eventSynchronizeSync(b as Event), extra: events },
    { call: 'eventElapsedTime', run: (b) => rt.eventElapsedTime(b as Event, event), extra: events },
    { call: 'eventDestroy', run: (b) => rt.eventDestroy(b as Event), extra: events },
  ],
  kernels: [
    { call: 'loadModule', run: (b) => rt.loadModule(b as string), async: true },
    { call: 'loadModule', run: (b) => rt.loadModule(kernelsUrl, b as never), ok: [undefined, {}, []], async: true },
    { call: 'launchKernel', run: (b) => rt.launchKernel(b as Kernel, []), extra: () => [other] },
    { call: 'launchKernel', run: (b) => rt.launchKernel(kernel, b as []), ok: [[]] },
    { call: 'launchKernel', run: (b) => rt.launchKernel(kernel, [b as number]), ok: [Number.NaN, -1, 1.5, 2 ** 53] },
    { call: 'launchKernel', run: (b) => rt.launchKernel(kernel, [], b as Stream), ok: [undefined], extra: streams },
    { call: 'launchHostFunc', run: (b) => rt.launchHostFunc(b as Stream, fn), ok: [undefined], extra: streams },
    { call: 'launchHostFunc', run: (b) => rt.launchHostFunc(stream, b as () => 0), ok: [fn] },
    { call: 'getFunction', run: (b) => mod.getFunction(b as string) },
  ],
  random: [
    { call: 'defaultGenerator', run: (b) => rt.defaultGenerator(b as number), ok: [undefined] },
    { call: 'newGenerator', run: (b) => rt.newGenerator(b as number), ok: [undefined] },
    { call: 'manualSeed', run: (b) => rt.manualSeed(b as number), ok: [-1] },
    { call: 'manualSeedAll', run: (b) => rt.manualSeedAll(b as number), ok: [-1] },
    { call: 'manualSeed', run: (b) => generator.manualSeed(b as number), ok: [-1] },
    { call: 'setOffset', run: (b) => generator.setOffset(b as number) },
    { call: 'setState', run: (b) => generator.setState(b as Uint8Array) },
    { call: 'randomUniform', run: (b) => rt.randomUniform(b as number, 4), extra: pointers },
    { call: 'randomUniform', run: (b) => rt.randomUniform(ptr, b as number) },
    { call: 'randomUniform', run: (b) => rt.randomUniform(ptr, 4, b as never), ok: [undefined, {}, []] },
    { call: 'randomUniform', run: (b) => rt.randomUniform(ptr, 4, { dtype: b as never }), ok: [undefined] },
    { call: 'randomUniform', run: (b) => rt.randomUniform(ptr, 4, { generator: b as Generator }), ok: [undefined] },
    { call: 'randomUniform', run: (b) => rt.randomUniform(ptr, 4, { stream: b as Stream }), ok: [undefined], extra: streams },
    { call: 'randomNormal', run: (b) => rt.randomNormal(ptr, 4, { mean: b as number }), ok: [undefined, -1, 1.5, 2 ** 53] },
    { call: 'randomNormal', run: (b) => rt.randomNormal(ptr, 4, { std: b as number }), ok: [undefined, 1.5, 2 ** 53] },
    { call: 'randomInt', run: (b) => rt.randomInt(ptr, 4, b as number, 10), ok: [-1] },
    { call: 'randomInt', run: (b) => rt.randomInt(ptr, 4, 0, b as number) },
  ],
  integration: [
    { call: 'cachingAllocator.allocate', run: (b) => rt.cachingAllocator.allocate(b as number) },
    { call: 'cachingAllocator.allocate', run: (b) => rt.cachingAllocator.free(rt.cachingAllocator.allocate(16, b as Stream)), ok: [undefined], extra: streams },
    { call: 'cachingAllocator.free', run: (b) => rt.cachingAllocator.free(b as number), extra: pointers },
    { call: 'cachingAllocator.recordStream', run: (b) => rt.cachingAllocator.recordStream(b as number, stream) },
    { call: 'cachingAllocator.recordStream', run: (b) => rt.cachingAllocator.recordStream(block.ptr, b as Stream), extra: streams },
    { call: 'cachingAllocator.memoryStats', run: (b) => rt.cachingAllocator.memoryStats(b as number), ok: [undefined] },
    { call: 'cachingAllocator.resetPeakMemoryStats', run: (b) => rt.cachingAllocator.resetPeakMemoryStats(b as number), ok: [undefined] },
    { call: 'hostAllocator.allocate', run: (b) => rt.hostAllocator.allocate(b as number) },
    { call: 'hostAllocator.free', run: (b) => rt.hostAllocator.free(b as Uint8Array), extra: () => [view.subarray(1), pinned] },
    { call: 'hostAllocator.recordStream', run: (b) => rt.hostAllocator.recordStream(b as Uint8Array, stream) },
    { call: 'hostAllocator.recordStream', run: (b) => rt.hostAllocator.recordStream(view, b as Stream), extra: streams },
    { call: 'hooks.on', run: (b) => rt.hooks.on(b as number, 'free', fn)() },
    { call: 'hooks.on', run: (b) => rt.hooks.on(0, b as 'free', fn)() },
    { call: 'hooks.on', run: (b) => rt.hooks.on(0, 'free', b as () => 0)(), ok: [fn] },
    { call: 'hooks.hasPrimaryContext', run: (b) => rt.hooks.hasPrimaryContext(b as number) },
    { call: 'hooks.getDefaultGenerator', run: (b) => rt.hooks.getDefaultGenerator(b as number) },
    { call: 'hooks.getNewGenerator', run: (b) => rt.hooks.getNewGenerator(b as number) },
    { call: 'hooks.getDeviceFromPtr', run: (b) => rt.hooks.getDeviceFromPtr(b as number), extra: pointers },
    { call: 'hooks.isPinnedPtr', run: (b) => rt.hooks.isPinnedPtr(b as Uint8Array) },
    { call: 'profiler.pushCorrelationId', run: (b) => rt.profiler.pushCorrelationId(b as number) },
    { call: 'profiler.withCorrelationId', run: (b) => rt.profiler.withCorrelationId(b as number, fn) },
    { call: 'profiler.withCorrelationId', run: (b) => rt.profiler.withCorrelationId(1, b as () => 0), ok: [fn] },
    {
      call: 'profiler.exportChromeTrace',
      // A string is a path: keep it out of the working directory.
      run: (b) => rt.profiler.exportChromeTrace(typeof b === 'string' ? join(tmpdir(), `openreg-bad-input-${process.pid}-${b}.json`) : (b as string)),
      ok: ['0'],
      async: true,
    },
    { call: 'Runtime.create', run: (b) => Runtime.create({ deviceCount: b as number }), ok: [undefined], async: true },
  ],
};

/** What a call did with one value: returned, threw (synchronously), or rejected. */
async function attempt(run: () => unknown): Promise<{ how: 'returned' | 'threw' | 'rejected'; error?: unknown }> {
  let result: unknown;
  try {
    result = run();
  } catch (error) {
    return { how: 'threw', error };
  }
  if (result instanceof Promise) {
    try {
      const value = await result;
      if (value instanceof Runtime) await value.close();
    } catch (error) {
      return { how: 'rejected', error };
    }
  }
  return { how: 'returned' };
}

const show = (v: unknown) => (typeof v === 'function' ? 'fn' : typeof v === 'number' || v === undefined ? String(v) : (v?.constructor?.name ?? String(v)));

for (const [facet, list] of Object.entries(rows)) {
  describe(`bad input: ${facet}`, () => {
    list.forEach((row, i) => {
      it(`${row.call} #${i}: each bad value is a coded error naming ${row.call}`, async () => {
        const values = [...BAD, ...(row.extra?.() ?? [])];
        const findings: string[] = [];
        for (const bad of values) {
          const outcome = await attempt(() => row.run(bad));
          const accepted = row.ok?.some((v) => Object.is(v, bad) || (typeof v === 'object' && v !== null && typeof bad === 'object' && bad !== null && Array.isArray(v) === Array.isArray(bad) && Object.keys(bad).length === 0)) ?? false;
          if (outcome.how === 'returned') {
            if (!accepted) findings.push(`${show(bad)}: accepted`);
            continue;
          }
          const e = outcome.error;
          if (!(e instanceof OpenRegError)) findings.push(`${show(bad)}: threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
          else if (!CODES.has(e.code)) findings.push(`${show(bad)}: code ${e.code}`);
          else if (!e.message.startsWith(`${row.call}: `)) findings.push(`${show(bad)}: message "${e.message}"`);
          else if (row.async === true && outcome.how === 'threw') findings.push(`${show(bad)}: threw synchronously instead of rejecting`);
        }
        expect(findings).toEqual([]);
      });
    });
  });
}

import { Bench } from 'tinybench';
import { describe, expect } from 'vitest';
import { ErrorCode, Runtime, type Stream } from '../dist/src/index.js';
import { deviceTime } from '../dist/src/testing/bench.js';
import { forEachSeed, openregTest } from '../dist/src/testing/vitest.js';
import { createRuntime, expectRejectCode, kernelsUrl } from './helpers.js';

// Schedule fuzzing finds a missing synchronization the default schedule never does; the
// openreg/vitest fixture and seed helper, and openreg/bench's device time.
const test = openregTest({ deviceCount: 1, deviceMemoryBytes: 8 << 20, hostMemoryBytes: 8 << 20, stagingBytes: 1 << 20 });

/** A producer on one stream, a consumer on another: the consumer must see 7s. `synced` adds the event wait. */
async function producerConsumer(rt: Runtime, synced: boolean): Promise<void> {
  const k = await rt.loadModule(kernelsUrl);
  const [a, b] = [rt.streamCreate({ nonBlocking: true }), rt.streamCreate({ nonBlocking: true })] as [Stream, Stream];
  const p = rt.malloc(1024);
  await rt.memset(p, 0, 1024);
  const out = rt.mallocHost(1024);
  rt.launchKernel(k.getFunction('fill'), [p, 256, 7], a);
  if (synced) {
    const e = rt.eventCreate();
    rt.eventRecord(e, a);
    rt.streamWaitEvent(b, e);
  }
  rt.memcpyAsync(out, p, 1024, 'deviceToHost', b);
  await rt.streamSynchronize(b);
  const seen = new Float32Array(out.buffer, out.byteOffset, 256)[0];
  if (seen !== 7) throw new Error(`the consumer read ${seen} before the producer wrote 7`);
}

async function onSchedule(seed: number | undefined, synced: boolean): Promise<void> {
  const rt = await createRuntime({ deviceCount: 1, ...(seed === undefined ? {} : { schedule: { seed, maxDelayUs: 300 } }) });
  try {
    await producerConsumer(rt, synced);
  } finally {
    await rt.close();
  }
}

describe('schedule fuzzing', () => {
  test('the default schedule never finds the missing wait; a few fuzzed seeds do, naming the seed', { timeout: 60_000 }, async () => {
    for (let i = 0; i < 8; i++) await onSchedule(undefined, false);
    await expect(forEachSeed(32, (seed) => onSchedule(seed, false))).rejects.toThrow(/failed with schedule seed \d+: rerun it with Runtime\.create\(\{ schedule: \{ seed: \d+ \} \}\)/);
  });

  test('the correctly synchronized program passes every seed', { timeout: 60_000 }, async () => {
    await forEachSeed(16, (seed) => onSchedule(seed, true));
  });

  test('rejects bad schedule options', async () => {
    for (const schedule of [{ seed: -1 }, { seed: 1.5 }, { seed: 1, mode: 'fifo' }, { seed: 1, maxDelayUs: -5 }, 'x']) {
      await expectRejectCode(Runtime.create({ schedule: schedule as never }), ErrorCode.INVALID_VALUE);
    }
  });
});

describe('openreg/vitest and openreg/bench', () => {
  test('the fixture gives each test an open runtime', async ({ rt }) => {
    expect(rt.closed).toBe(false);
    expect(rt.getDeviceCount()).toBe(1);
  });

  const sanitized = openregTest({ deviceCount: 1, sanitize: { mode: 'collect' } });
  sanitized.fails('a test whose program races fails through the fixture, even with collect mode', async ({ rt }) => {
    const k = await rt.loadModule(kernelsUrl);
    const [a, b] = [rt.streamCreate({ nonBlocking: true }), rt.streamCreate({ nonBlocking: true })];
    const p = rt.malloc(1024);
    rt.launchKernel(k.getFunction('fill'), [p, 256, 1], a);
    rt.launchKernel(k.getFunction('fill'), [p, 256, 2], b);
  });

  test('deviceTime gives tinybench the events’ elapsed time', async ({ rt }) => {
    const k = await rt.loadModule(kernelsUrl);
    const bench = new Bench({ iterations: 4, time: 0, warmupIterations: 0 });
    bench.add('spin', deviceTime(rt, () => rt.launchKernel(k.getFunction('spin'), [1])));
    await bench.run();
    const result = bench.tasks[0]!.result;
    expect(result.state).toBe('completed');
    expect(result.state === 'completed' && result.latency.samplesCount).toBeGreaterThanOrEqual(4);
  });
});

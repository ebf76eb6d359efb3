import { describe, expect, it } from 'vitest';
import { type KernelModule, type Runtime, type RuntimeEvents, type RuntimeEventType, type RuntimeSubscriber } from '../dist/src/index.js';
import { expectCode, gate, useRuntime } from './helpers.js';

/** Subscribes to every event type; returns the log of `type` entries and the disposer. */
function record(rt: Runtime): { log: { type: RuntimeEventType; event: RuntimeEvents[RuntimeEventType] }[]; of: <T extends RuntimeEventType>(type: T) => RuntimeEvents[T][]; stop: () => void } {
  const log: { type: RuntimeEventType; event: RuntimeEvents[RuntimeEventType] }[] = [];
  const types: RuntimeEventType[] = [
    'streamCreate', 'streamDestroy', 'eventCreate', 'eventDestroy', 'eventRecord', 'streamWait', 'allocation', 'free',
    'cachingAllocation', 'cachingFree', 'hostAllocation', 'hostFree', 'kernelLaunch', 'copy', 'memset', 'hostFunction',
    'synchronization', 'synchronized', 'deviceReset', 'error', 'apiCall',
  ];
  const subscriber = Object.fromEntries(types.map((type) => [type, (event: RuntimeEvents[RuntimeEventType]) => log.push({ type, event })])) as RuntimeSubscriber;
  const stop = rt.observe(subscriber);
  const of = <T extends RuntimeEventType>(type: T) => log.filter((e) => e.type === type).map((e) => e.event as RuntimeEvents[T]);
  return { log, of, stop };
}

describe('the observer channel', () => {
  let rt: Runtime;
  let mod: KernelModule;
  useRuntime({}, (r, kernels) => {
    rt = r;
    mod = kernels;
  });

  it('reports stream and event lifetimes, records, and explicit waits with their positions', async () => {
    const { of, stop } = record(rt);
    const a = rt.streamCreate({ nonBlocking: true });
    const b = rt.streamCreate({ nonBlocking: true, priority: -2 });
    const ev = rt.eventCreate();
    const g = gate(rt, a);
    ev.record(a);
    b.waitEvent(ev);
    b.waitStream(a);
    g.open();
    await b.synchronize();
    ev.destroy();
    a.destroy();
    b.destroy();
    stop();
    expect(of('streamCreate').map((e) => [e.stream, e.priority, e.nonBlocking])).toEqual([
      [a, 0, true],
      [b, -2, true],
    ]);
    expect(of('eventCreate')).toEqual([{ device: 0, event: ev }]);
    const [recorded] = of('eventRecord');
    expect(recorded).toMatchObject({ device: 0, stream: a, event: ev });
    const waits = of('streamWait');
    expect(waits.map((w) => [w.cause, w.stream, w.on, w.onSeq])).toEqual([
      ['event', b, a, recorded!.seq],
      ['stream', b, a, recorded!.seq],
    ]);
    expect(waits[0]!.event).toBe(ev);
    expect(of('hostFunction')).toMatchObject([{ device: 0, stream: a, call: 'launchHostFunc' }]);
    expect(of('synchronization')).toMatchObject([{ device: 0, call: 'streamSynchronize', stream: b }]);
    expect(of('synchronized')).toMatchObject([{ device: 0, call: 'streamSynchronize', stream: b }]);
    expect(of('eventDestroy')).toEqual([{ device: 0, event: ev }]);
    expect(of('streamDestroy').map((e) => e.stream)).toEqual([a, b]);
  });

  it('reports the waits CUDA adds itself: the legacy default stream and peer copies', async () => {
    const { of, stop } = record(rt);
    const s = rt.streamCreate();
    const g = gate(rt, s);
    const p = rt.malloc(64);
    rt.launchKernel(mod.getFunction('fill'), [p, 16, 1], s);
    rt.launchKernel(mod.getFunction('fill'), [p, 16, 2]); // default stream: waits for s
    const q = rt.withDevice(1, () => rt.malloc(64));
    const copy = rt.memcpy(q, p, 64); // peer copy: ordered with device 1's default stream
    g.open();
    await copy;
    stop();
    const causes = of('streamWait').map((w) => [w.cause, w.stream.device, w.on.device]);
    expect(causes).toContainEqual(['legacyDefaultStream', 0, 0]);
    expect(causes).toContainEqual(['peerCopy', 1, 0]);
    // The default stream's launch waited for s (waits with nothing left to wait for are reported too).
    const legacy = of('streamWait').find((w) => w.cause === 'legacyDefaultStream' && w.on === s)!;
    expect(legacy.stream.isDefault).toBe(true);
    const [peerCopy] = of('copy');
    expect(peerCopy).toMatchObject({ device: 0, bytes: 64, kind: 'deviceToDevice', call: 'memcpy', src: p, dst: q });
    rt.free(p);
    rt.withDevice(1, () => rt.free(q));
    s.destroy();
  });

  it('reports allocations (raw, caching, pinned), launches including random fills, memsets and copies', async () => {
    const { log, of, stop } = record(rt);
    const p = rt.malloc(4096);
    rt.randomUniform(p, 16);
    rt.memsetAsync(p, 7, 64);
    const pinned = rt.mallocHost(64);
    rt.memcpyAsync(pinned, p, 64);
    const block = rt.cachingAllocator.allocate(1000);
    rt.cachingAllocator.free(block);
    await rt.deviceSynchronize();
    rt.freeHost(pinned);
    rt.free(p);
    stop();
    expect(of('allocation')).toContainEqual({ device: 0, ptr: p, size: 4096, call: 'malloc' });
    // A typed launch reports its argument words: the 1-d out tensor (5 words), the key (2) and the offset.
    expect(of('kernelLaunch')).toMatchObject([{ device: 0, kernel: 'randomUniform', argc: 8, call: 'randomUniform', writes: [[p, 64]] }]);
    expect(of('memset')).toMatchObject([{ device: 0, ptr: p, bytes: 64, value: 7, call: 'memsetAsync' }]);
    expect(of('copy')).toMatchObject([{ device: 0, bytes: 64, kind: 'deviceToHost', call: 'memcpyAsync' }]);
    expect(of('copy')[0]!.pinned).toEqual([pinned.byteOffset]);
    expect(of('cachingAllocation')).toMatchObject([{ device: 0, ptr: block.ptr, size: 1024 }]);
    expect(of('cachingFree')).toMatchObject([{ device: 0, ptr: block.ptr, size: 1024 }]);
    expect(of('hostAllocation')).toMatchObject([{ view: pinned, size: 64, call: 'mallocHost' }]);
    expect(of('hostFree')).toMatchObject([{ view: pinned, call: 'freeHost' }]);
    expect(of('free')).toContainEqual({ device: 0, ptr: p, call: 'free' });
    // Commands are numbered in stream order.
    const seqs = log.filter((e) => 'seq' in e.event && (e.event as { stream: unknown }).stream === rt.defaultStream()).map((e) => (e.event as { seq: number }).seq);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
  });

  it('sends API-call spans only to subscribers that ask for timing, and stops when disposed', async () => {
    const untimed = record(rt);
    rt.launchKernel(mod.getFunction('empty'), []);
    await rt.deviceSynchronize();
    expect(untimed.of('apiCall')).toEqual([]);
    expect(untimed.of('synchronized')[0]!.start).toBe(0);
    rt.profiler.start();
    rt.launchKernel(mod.getFunction('empty'), []);
    rt.profiler.stop();
    expect(untimed.of('apiCall')).toMatchObject([{ call: 'launchKernel', device: 0, stream: 0 }]);
    untimed.stop();
    untimed.stop(); // a disposer works once
    const before = untimed.log.length;
    rt.free(rt.malloc(64));
    expect(untimed.log.length).toBe(before);
  });

  it('reports a sticky error once, and a listener that throws becomes a warning', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    const { of, stop } = record(rt);
    const stopThrowing = rt.observe({ kernelLaunch: () => { throw new Error('observer exploded'); } });
    const boom = await rt.loadModule(new URL('./fixtures/kernels.mjs', import.meta.url));
    rt.withDevice(1, () => rt.launchKernel(boom.getFunction('boom'), []));
    await expect(rt.withDevice(1, () => rt.deviceSynchronize())).rejects.toMatchObject({ code: 'ERR_LAUNCH_FAILURE' });
    expectCode(() => rt.withDevice(1, () => rt.malloc(8)), 'ERR_LAUNCH_FAILURE');
    await rt.deviceReset(1);
    await new Promise((resolve) => setImmediate(resolve));
    stopThrowing();
    stop();
    process.off('warning', onWarning);
    expect(of('error').map((e) => [e.device, e.error.code])).toEqual([[1, 'ERR_LAUNCH_FAILURE']]);
    expect(of('deviceReset')).toEqual([{ device: 1 }]);
    expect(warnings.some((w) => (w as { code?: string }).code === 'OPENREG_HOOK_ERROR' && /observer exploded/.test(w.message))).toBe(true);
  });

  it('validates subscriptions', () => {
    expectCode(() => rt.observe(null as never), 'ERR_INVALID_VALUE');
  });
});

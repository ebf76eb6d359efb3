// Compiled, never run: the public API as a user's code sees it, through the package's exports.
import {
  type DevicePtr,
  ErrorCode,
  Event,
  type HookEvents,
  type KernelContext,
  MESSAGES,
  OpenRegError,
  type ProfileRecord,
  Runtime,
  type RuntimeEvents,
  Stream,
} from 'openreg';
import { PhiloxStream, toUnitFloat32 } from 'openreg/philox';

export async function consumer(): Promise<void> {
  await using rt = await Runtime.create({ deviceCount: 2 });
  const stream: Stream = rt.streamCreate({ priority: -1 });
  const event: Event = rt.eventCreate();
  const ptr: DevicePtr = rt.malloc(1024);
  const module = await rt.loadModule(new URL('./kernels.js', import.meta.url));
  rt.launchKernel(module.getFunction('fill'), [ptr, 256, 1.5], stream);
  event.record(stream);
  rt.defaultStream().waitEvent(event);
  const block = rt.cachingAllocator.allocate(4096, stream);
  rt.cachingAllocator.recordStream(block, rt.getStreamFromPool());
  rt.cachingAllocator.free(block);
  const stop = rt.observe({ kernelLaunch: (e: RuntimeEvents['kernelLaunch']) => void e.stream.synchronize() });
  using off = rt.hooks.on(0, 'copy', (e: HookEvents['copy']) => void e.bytes);
  rt.profiler.start();
  const records: ProfileRecord[] = rt.profiler.stop();
  stop();
  await rt.memcpy(new Float32Array(256), ptr, 1024);
  rt.free(ptr);
  try {
    rt.malloc(-1);
  } catch (error) {
    if (error instanceof OpenRegError && error.code === ErrorCode.INVALID_VALUE) void MESSAGES.invalidValue.template;
  }
  void records;
  void off;
}

export function kernel(ctx: KernelContext, ptr: DevicePtr, n: number): void {
  const philox = new PhiloxStream();
  philox.reset(1, 2);
  const out = ctx.f32(ptr, n);
  for (let i = 0; i < n; i++) out[i] = toUnitFloat32(philox.value(i));
}

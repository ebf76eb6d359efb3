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
  AutogradFunction,
  type DispatchKey,
  type FunctionContext,
  Library,
  type NestedArray,
  Tensor,
  type TensorData,
  callOp,
  device,
  kernelsOf,
  randn,
  tensor,
  zeros,
  type RaceReport,
} from 'openreg';
import { deviceTime } from 'openreg/bench';
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

/** The tensor layer as a consumer uses it: factories, ops, reads, custom ops, autograd. */
export async function tensors(): Promise<NestedArray> {
  await using rt = await Runtime.create({ deviceCount: 2 });
  const x: Tensor = tensor([[1, 2], [3, 4]], { device: 'openreg' });
  const y = x.add(2).matmul(zeros([2, 2], { device: device('openreg:0'), dtype: 'int64' }));
  const lib = new Library('consumer');
  lib.define('twice(Tensor x) -> Tensor');
  lib.impl('twice', 'openreg', (t: Tensor) => t.mul(2));
  class Square extends AutogradFunction {
    static override forward(ctx: FunctionContext, t: Tensor): Tensor {
      ctx.saveForBackward(t);
      return t.mul(t);
    }
    static override backward(ctx: FunctionContext, g: Tensor): Tensor {
      return g.mul(ctx.savedTensors[0]!).mul(2);
    }
  }
  const w = randn([2], { device: 'openreg', requiresGrad: true });
  Square.apply(w).sum().backward();
  const kinds: DispatchKey[] = kernelsOf('twice');
  const data: TensorData = await (callOp('consumer::twice', x) as Tensor).data({ timeoutMs: 1000 });
  void [kinds, data, rt.getDeviceCount(), w.grad?.shape];
  return y.toArray();
}

/** The concurrency tools: sanitizer, schedule fuzzing, fault injection, the bench helper. */
export async function tools(): Promise<number> {
  await using rt = await Runtime.create({ sanitize: { mode: 'collect' }, schedule: { seed: 7 } });
  const p = rt.malloc(64);
  const k = (await rt.loadModule('/tmp/kernels.js')).getFunction('fill');
  rt.launchKernel(k, [p, 16, 1], { stream: rt.streamCreate(), writes: [[p, 64]] });
  const reports: readonly RaceReport[] = rt.sanitizer.reports();
  const disarm = rt.faults.inject({ at: 'kernel', nth: 2, error: 'ERR_LAUNCH_FAILURE' });
  disarm();
  await rt.setSchedule(undefined);
  const task = deviceTime(rt, () => rt.launchKernel(k, [p, 16, 2]));
  return (await task()).overriddenDuration + reports.length;
}

/** Issue 17's surface as strict TypeScript sees it: no casts for values, typed arrays or the namespace. */
export async function zeroCeremony(): Promise<number> {
  const { openreg, accelerator, init } = await import('openreg');
  if (!openreg.isAvailable() || accelerator.deviceCount() === 0) init({ deviceCount: 1 });
  const x = tensor(new Float32Array([1, 2, 3, 4]), { shape: [2, 2], device: 'openreg' });
  const into = new Float32Array(4);
  const values: Float32Array = await x.data({ into });
  const n: number = await x.sum().item<number>();
  const flag: boolean = await x.gt(2).flatten().select(0, 3).item<boolean>();
  const w = tensor([1.0, 2.0], { requiresGrad: true });
  const h = zeros(2, 3, { dtype: 'half' }).float().T;
  return values[0]! + n + (flag ? 1 : 0) + w.size(0) + h.size(1) + openreg.memoryAllocated();
}

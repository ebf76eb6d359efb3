import { reached } from '../device/stream-queue.js';
import { invalidValue } from '../errors/errors.js';
import { DeviceWord } from '../protocol/layout.js';
import { ArgumentWords, type OperandLayout, type TensorOperand, accessesOf, encodeArguments } from '../protocol/kernel-abi.js';
import type { KernelService } from './kernel-service.js';
import type { MemoryService } from './memory-service.js';
import type { RuntimeApi, IntegrationContext } from './runtime-api.js';
import type { RuntimeCore } from './runtime-core.js';
import { kQueue } from './symbols.js';

/** The integration layer's view of a runtime: its internals, narrowed to IntegrationContext. */
/** The built-in typed launches encode here (one at a time on the main thread). */
const words = new ArgumentWords();
const OPERAND_LAYOUT: OperandLayout<TensorOperand> = { dtype: (o) => o.dtype, ptr: (o) => o.ptr, shape: (o) => o.shape, strides: (o) => o.strides };

export function integrationContext(core: RuntimeCore, api: RuntimeApi, memory: MemoryService, kernels: KernelService): IntegrationContext {
  return {
    api,
    observer: core.observer,
    correlation: core.correlation,
    deviceCount: core.devices.length,
    open: (call) => core.open(call),
    deviceIndex: (call, device) => core.deviceIndex(call, device),
    deviceOrCurrent: (call, device) => core.deviceOrCurrent(call, device),
    stream: (call, stream) => core.handleOf(core.queue(call, stream)),
    streamOrCurrent: (call, stream) => core.handleOf(core.queueOrCurrent(call, stream)),
    mark: (call, stream) => {
      const queue = stream[kQueue];
      const usable = !queue.destroyed && (queue.isDefault || queue.generation === queue.device.generation);
      return usable && !queue.idle ? { queue, seq: queue.enqueueMarker(call) } : undefined;
    },
    synchronize: (call, positions) => {
      const devices = [...new Set(positions.map((p) => core.devices[p.queue.device.index]!))];
      core.waiter.waitSync(call, devices, core.until(call, devices, () => positions.every(reached)));
    },
    isLive: (device) => !core.devices[device]!.isLost,
    deviceRange: (call, ptr, bytes) => core.transfers.deviceRange(call, ptr, bytes).device.index,
    pointerAttributes: (call, ptr) => memory.pointerGetAttributes(ptr, call),
    isPinned: (call, view) => memory.isPinned(view, call),
    launch: (call, kernel, device, stream, args) => {
      const queue = stream === undefined ? core.currentQueueOf(call, core.devices[device]!) : core.queue(call, stream);
      if (queue.device.index !== device) throw invalidValue(call, `the stream is on device ${queue.device.index} but the buffer is on device ${device}`);
      queue.device.throwIfFailed(call);
      const values = args();
      if (values === undefined) return;
      if (kernel.signature === undefined) throw invalidValue(call, `${kernel.name} is not a typed kernel`);
      encodeArguments(kernel.signature, values, OPERAND_LAYOUT, words);
      kernels.enqueueTyped(call, queue, kernel, words.data, words.length, accessesOf(kernel.signature, values, OPERAND_LAYOUT));
    },
    currentHostFunction: () => kernels.currentHostFunction(),
    kernelName: (id) => core.kernelNames.get(id) ?? `kernel #${id}`,
    traceBuffers: () => core.devices.map((d) => d.traceBuffer),
    setTracing: (on) => {
      for (const d of core.devices) Atomics.store(d.control, DeviceWord.TRACING, on ? 1 : 0);
    },
  };
}

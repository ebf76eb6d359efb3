import type { Device } from '../device/device.js';
import type { StreamQueue } from '../device/stream-queue.js';
import { MemcpyKind } from '../memory/memcpy-kind.js';
import type { DevicePtr } from '../protocol/pointer.js';
import type { RuntimeCore } from './runtime-core.js';
import type { CopyPlan, EnqueuedCopy } from './transfers.js';

type Operand = DevicePtr | ArrayBufferView;

/** The memcpy and memset families, with CUDA's stream and host-synchronization rules. */
export class CopyService {
  readonly #core: RuntimeCore;

  /** @internal */
  constructor(core: RuntimeCore) {
    this.#core = core;
  }

  memcpy(dst: unknown, src: unknown, count: unknown, kind: unknown = MemcpyKind.default): Promise<void> {
    const call = 'memcpy';
    try {
      const copy = this.#enqueueMemcpy(call, dst, src, count, kind, false);
      if (copy === undefined) return Promise.resolve();
      const { enqueued, devices } = copy;
      return this.#core.waiter.waitAsync(devices, this.#core.until(call, devices, () => enqueued.queue.hasCompleted(enqueued.seq))).then(() => enqueued.after?.());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  memcpySync(dst: unknown, src: unknown, count: unknown, kind: unknown = MemcpyKind.default): void {
    const call = 'memcpySync';
    const copy = this.#enqueueMemcpy(call, dst, src, count, kind, true);
    if (copy === undefined) return;
    const { enqueued, devices } = copy;
    this.#core.waiter.waitSync(call, devices, this.#core.until(call, devices, () => enqueued.queue.hasCompleted(enqueued.seq)));
    enqueued.after?.();
  }

  memcpyAsync(dst: unknown, src: unknown, count: unknown, kind: unknown = MemcpyKind.default, stream?: unknown): void {
    const call = 'memcpyAsync';
    const core = this.#core;
    core.open(call);
    const plan = core.transfers.plan(call, dst, src, count, kind);
    const queue = core.queueOrCurrent(call, stream);
    if (plan === undefined) return;
    const devices = this.#touched(call, plan, queue);
    const fault = core.faults.take(queue.device.index, 'copy');
    const enqueued = fault !== undefined ? { queue, seq: core.launchFault(call, queue, fault), after: undefined } : core.traced(call, queue, () => core.transfers.enqueue(call, queue, plan), plan.count);
    this.#emitCopy(call, queue, enqueued.seq, plan, dst as Operand, src as Operand);
    if (enqueued.after !== undefined) {
      core.waiter.waitSync(call, devices, core.until(call, devices, () => queue.hasCompleted(enqueued.seq)));
      enqueued.after();
    }
  }

  memset(ptr: unknown, value: unknown, count: unknown): Promise<void> {
    const call = 'memset';
    try {
      const fill = this.#memsetDefault(call, ptr, value, count);
      if (fill === undefined) return Promise.resolve();
      const device = [fill.queue.device];
      return this.#core.waiter.waitAsync(device, this.#core.until(call, device, () => fill.queue.hasCompleted(fill.seq)));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  memsetSync(ptr: unknown, value: unknown, count: unknown): void {
    const call = 'memsetSync';
    const fill = this.#memsetDefault(call, ptr, value, count);
    if (fill === undefined) return;
    const device = [fill.queue.device];
    this.#core.waiter.waitSync(call, device, this.#core.until(call, device, () => fill.queue.hasCompleted(fill.seq)));
  }

  memsetAsync(ptr: unknown, value: unknown, count: unknown, stream?: unknown): void {
    const call = 'memsetAsync';
    const core = this.#core;
    core.open(call);
    const fill = core.transfers.planMemset(call, ptr, value, count);
    const queue = core.queueOrCurrent(call, stream);
    if (fill === undefined) return;
    fill.device.throwIfFailed(call);
    this.#enqueueMemset(call, queue, fill, ptr as DevicePtr);
  }

  /**
   * Devices a copy involves (each must be healthy), in the order to watch them. Each
   * notes that `queue` touches its memory: a free there waits for it.
   */
  #touched(call: string, plan: CopyPlan, queue: StreamQueue): Device[] {
    const devices = this.#core.transfers.devicesOf(plan);
    for (const d of devices) d.noteUse(queue);
    const own = this.#core.devices[queue.device.index]!;
    if (!devices.includes(own)) devices.push(own);
    for (const d of devices) d.throwIfFailed(call);
    return devices;
  }

  /**
   * cudaMemcpy: enqueued on the legacy default stream of the device owning the source
   * (else the destination); a peer copy is also ordered with the other device's default stream.
   */
  #enqueueMemcpy(call: string, dst: unknown, src: unknown, count: unknown, kind: unknown, blocking: boolean): { enqueued: EnqueuedCopy; devices: Device[] } | undefined {
    const core = this.#core;
    core.open(call);
    const plan = core.transfers.plan(call, dst, src, count, kind);
    if (plan === undefined) return undefined;
    if (core.transfers.isHostOnly(plan)) {
      core.transfers.copyOnHost(plan);
      return undefined;
    }
    const involved = core.transfers.devicesOf(plan);
    const queue = involved[0]!.defaultStream;
    const devices = this.#touched(call, plan, queue);
    const peer = involved[1]?.defaultStream;
    if (peer !== undefined && !peer.hasCompleted(peer.submitted)) core.enqueueWait(call, queue, peer, peer.submitted, 'peerCopy');
    const fault = core.faults.take(queue.device.index, 'copy');
    const enqueued = fault !== undefined ? { queue, seq: core.launchFault(call, queue, fault), after: undefined } : core.traced(call, queue, () => core.transfers.enqueue(call, queue, plan, blocking), plan.count);
    this.#emitCopy(call, queue, enqueued.seq, plan, dst as Operand, src as Operand);
    if (peer !== undefined) core.enqueueWait(call, peer, queue, enqueued.seq, 'peerCopy');
    return { enqueued, devices };
  }

  #memsetDefault(call: string, ptr: unknown, value: unknown, count: unknown): { queue: StreamQueue; seq: number } | undefined {
    const core = this.#core;
    core.open(call);
    const fill = core.transfers.planMemset(call, ptr, value, count);
    if (fill === undefined) return undefined;
    fill.device.throwIfFailed(call);
    const queue = fill.device.defaultStream;
    return { queue, seq: this.#enqueueMemset(call, queue, fill, ptr as DevicePtr) };
  }

  #enqueueMemset(call: string, queue: StreamQueue, fill: { device: Device; offset: number; value: number; count: number }, ptr: DevicePtr): number {
    const fault = this.#core.faults.take(queue.device.index, 'memset');
    if (fault !== undefined) return this.#core.launchFault(call, queue, fault);
    const core = this.#core;
    fill.device.noteUse(queue);
    const seq = core.traced(call, queue, () => queue.enqueueMemset(fill.device.index, fill.offset, fill.value, fill.count, call), fill.count);
    if (core.observer.listeners.memset !== undefined) {
      core.observer.emit('memset', { device: queue.device.index, stream: core.handleOf(queue), seq, ptr, bytes: fill.count, value: fill.value, call });
    }
    return seq;
  }

  #emitCopy(call: string, queue: StreamQueue, seq: number, plan: CopyPlan, dst: Operand, src: Operand): void {
    const core = this.#core;
    if (core.observer.listeners.copy === undefined) return;
    core.observer.emit('copy', {
      device: queue.device.index,
      stream: core.handleOf(queue),
      seq,
      bytes: plan.count,
      kind: core.transfers.kindOf(plan),
      call,
      src,
      dst,
      pinned: core.transfers.pinnedBases(plan),
    });
  }
}

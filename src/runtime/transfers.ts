import { invalidValue, openRegError } from '../errors/errors.js';
import { requireInteger } from '../errors/validate.js';
import type { Device } from '../device/device.js';
import type { HostWaiter } from '../device/host-waiter.js';
import type { StreamPosition, StreamQueue } from '../device/stream-queue.js';
import type { HostMemory } from '../memory/host-memory.js';
import { type MemcpyKind, isMemcpyKind } from '../memory/memcpy-kind.js';
import { HOST_POOL_SPACE } from '../protocol/command.js';
import { deviceOfPointer, heapOffset } from '../protocol/pointer.js';

interface DeviceOperand {
  kind: 'device';
  device: Device;
  offset: number;
}
interface HostOperand {
  kind: 'pinned' | 'pageable';
  /** The caller's bytes. */
  bytes: Uint8Array;
  /** Absolute offset in the pinned pool (pinned only). */
  offset: number;
}
type Operand = DeviceOperand | HostOperand;

/** A validated copy: both operands resolved, the kind checked against them. */
export interface CopyPlan {
  dst: Operand;
  src: Operand;
  count: number;
}

/** What enqueueing a copy left to do: wait for `seq` on `queue`, then run `after` on the host. */
export interface EnqueuedCopy extends StreamPosition {
  after: (() => void) | undefined;
}

/** Plans and enqueues copies and fills: the memcpy and memset families. */
export class Transfers {
  readonly #devices: readonly Device[];
  readonly #host: HostMemory;
  readonly #waiter: HostWaiter;
  readonly #timeoutMs: number;

  /** `timeoutMs`: how long a copy may wait for staging memory before ERR_TIMEOUT. */
  constructor(devices: readonly Device[], host: HostMemory, waiter: HostWaiter, timeoutMs: number) {
    this.#devices = devices;
    this.#host = host;
    this.#waiter = waiter;
    this.#timeoutMs = timeoutMs;
  }

  /** Validates a memcpy call; undefined when `count` is 0 (a no-op). */
  plan(call: string, dst: unknown, src: unknown, count: unknown, kind: unknown): CopyPlan | undefined {
    const n = requireInteger(call, 'count', count, 0);
    if (!isMemcpyKind(kind)) throw invalidValue(call, "kind must be one of 'hostToHost', 'hostToDevice', 'deviceToHost', 'deviceToDevice', 'default'", kind);
    const d = this.#operand(call, 'dst', dst, n);
    const s = this.#operand(call, 'src', src, n);
    if (n === 0) return undefined;
    const actual = this.kindOf({ dst: d, src: s, count: n });
    if (kind !== 'default' && kind !== actual) {
      throw invalidValue(call, `kind '${kind}' contradicts the pointers: src is ${where(s)} and dst is ${where(d)} ('${actual}')`);
    }
    return { dst: d, src: s, count: n };
  }

  /** The direction of a planned copy, as a MemcpyKind. */
  kindOf(plan: CopyPlan): MemcpyKind {
    return `${plan.src.kind === 'device' ? 'device' : 'host'}To${plan.dst.kind === 'device' ? 'Device' : 'Host'}` as MemcpyKind;
  }

  /** Byte offsets (in the pinned pool) of the pinned allocations a plan reads or writes. */
  pinnedBases(plan: CopyPlan): number[] {
    const bases: number[] = [];
    for (const op of [plan.src, plan.dst]) {
      if (op.kind !== 'pinned') continue;
      const allocation = this.#host.allocationOf(op.bytes);
      if (allocation !== undefined) bases.push(allocation.base.byteOffset);
    }
    return bases;
  }

  /** Devices whose memory a plan touches. */
  devicesOf(plan: CopyPlan): Device[] {
    const devices: Device[] = [];
    if (plan.src.kind === 'device') devices.push(plan.src.device);
    if (plan.dst.kind === 'device' && !devices.includes(plan.dst.device)) devices.push(plan.dst.device);
    return devices;
  }

  /** True if the copy can run on the host right away (no device and no pinned-to-pinned DMA). */
  isHostOnly(plan: CopyPlan): boolean {
    return plan.src.kind !== 'device' && plan.dst.kind !== 'device';
  }

  copyOnHost(plan: CopyPlan): void {
    (plan.dst as HostOperand).bytes.set((plan.src as HostOperand).bytes.subarray(0, plan.count));
  }

  /**
   * Enqueues a planned copy on `queue`. Pageable sources are captured now: copied straight
   * into the device if the stream is idle, else through the staging ring. Pageable
   * destinations are written by the host once the stream has reached the copy, which
   * the caller must wait for before running `after`. A `blocking` caller (it waits for
   * the copy anyway) gets pageable sources the same way: one copy, after the wait.
   */
  enqueue(call: string, queue: StreamQueue, plan: CopyPlan, blocking = false): EnqueuedCopy {
    const { dst, src, count } = plan;
    if (src.kind === 'pageable' && dst.kind === 'device') {
      const into = dst.device.heapBytes;
      const from = src.bytes.subarray(0, count);
      const copy = () => {
        into.set(from, dst.offset);
        dst.device.countHostCopy(count);
      };
      // A write now would be outside stream order: reads waiting to copy device memory out stage their copy first (the stream is busy then).
      if (queue.device.deferredReads.pending !== 0) queue.device.deferredReads.stageAll();
      if (queue.readyNow) {
        copy();
        return { queue, seq: queue.submitted, after: undefined };
      }
      if (blocking) return { queue, seq: queue.enqueueMarker(call), after: copy };
      return { queue, seq: this.#stage(call, queue, dst, src.bytes, count), after: undefined };
    }
    if (dst.kind === 'pageable' || (src.kind === 'pageable' && dst.kind !== 'device')) {
      const seq = queue.enqueueMarker(call);
      const from = src.kind === 'device' ? src.device.heapBytes.subarray(src.offset, src.offset + count) : src.bytes.subarray(0, count);
      const to = dst.bytes;
      // Done by the host: counted on the device whose memory it reads, as the worker counts its copies.
      const device = src.kind === 'device' ? src.device : queue.device;
      return {
        queue,
        seq,
        after: () => {
          to.set(from);
          this.#devices[device.index]!.countHostCopy(count);
        },
      };
    }
    const seq = queue.enqueueCopy(space(src), src.offset, space(dst), dst.offset, count, call);
    return { queue, seq, after: undefined };
  }

  /** Validates and enqueues a fill of device memory. */
  planMemset(call: string, ptr: unknown, value: unknown, count: unknown): { device: Device; offset: number; value: number; count: number } | undefined {
    if (typeof value !== 'number' || !Number.isInteger(value)) throw invalidValue(call, 'value must be an integer (its low byte is used)', value);
    const n = requireInteger(call, 'count', count, 0);
    const { device, offset } = this.deviceRange(call, ptr, n);
    return n === 0 ? undefined : { device, offset, value: value & 0xff, count: n };
  }

  /** The device and heap offset of [ptr, ptr + bytes), which must lie in one live allocation. */
  deviceRange(call: string, ptr: unknown, bytes: number): { device: Device; offset: number } {
    const target = this.#operand(call, 'ptr', ptr, bytes);
    if (target.kind !== 'device') throw invalidValue(call, 'ptr must be a device pointer', ptr);
    return { device: target.device, offset: target.offset };
  }

  /** Copies pageable bytes into staging chunks, each followed by a device copy in stream order. */
  #stage(call: string, queue: StreamQueue, dst: DeviceOperand, bytes: Uint8Array, count: number): number {
    const staging = this.#host.staging;
    // Behind a pending host function nothing may block: stage all of it at once, or nothing.
    const unsafe = !this.#waiter.blockingIsSafe;
    let seq = 0;
    for (let pos = 0; pos < count; ) {
      const n = unsafe ? count : Math.min(count - pos, staging.chunkLimit);
      const chunk: { seq: number | undefined } = { seq: undefined };
      const done = () => chunk.seq !== undefined && queue.hasCompleted(chunk.seq);
      let at = staging.allocate(n, done);
      if (at < 0 && unsafe) {
        throw openRegError('stagingDeadlock', { call });
      }
      if (at < 0) {
        // Staging is full: wait for earlier copies to drain it (as CUDA's pageable copies do).
        const room = () => {
          queue.device.throwIfFailed(call);
          at = staging.allocate(n, done);
          return at >= 0;
        };
        if (!this.#waiter.waitSync(call, this.#devices, room, this.#timeoutMs)) {
          throw openRegError('enqueueTimedOut', { call, device: queue.device.index, ms: this.#timeoutMs }, queue.device.index);
        }
      }
      this.#host.poolBytes.set(bytes.subarray(pos, pos + n), at);
      seq = chunk.seq = queue.enqueueCopy(HOST_POOL_SPACE, at, dst.device.index, dst.offset + pos, n, call);
      pos += n;
    }
    return seq;
  }

  #operand(call: string, role: string, value: unknown, count: number): Operand {
    if (typeof value === 'number') {
      if (value === 0) throw invalidValue(call, `${role} is the null pointer`);
      const d = deviceOfPointer(value, this.#devices.length);
      if (d < 0) throw invalidValue(call, `${role} is not a device pointer or host view`, value);
      const device = this.#devices[d]!;
      const offset = heapOffset(value, d);
      if (device.memory.find(offset, Math.max(count, 1)) < 0) {
        const inside = device.memory.find(offset, 1) >= 0;
        throw invalidValue(
          call,
          inside
            ? `${role} range of ${count} bytes runs past the end of its allocation on device ${d}`
            : `${role} is not inside a live allocation of device ${d} (unknown or freed)`,
          value,
        );
      }
      return { kind: 'device', device, offset };
    }
    if (ArrayBuffer.isView(value)) {
      if (count > value.byteLength) throw invalidValue(call, `count ${count} is larger than ${role} (${value.byteLength} bytes)`);
      const bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
      const offset = this.#host.findPinned(value, count);
      return { kind: offset >= 0 ? 'pinned' : 'pageable', bytes, offset };
    }
    throw invalidValue(call, `${role} must be a DevicePtr (number) or an ArrayBufferView`, value);
  }
}

function space(operand: Operand): number {
  return operand.kind === 'device' ? operand.device.index : HOST_POOL_SPACE;
}

function where(operand: Operand): string {
  return operand.kind === 'device' ? `device ${operand.device.index} memory` : `${operand.kind} host memory`;
}

import { invalidHandle, openRegError } from '../errors/errors.js';
import { given, requireBoolean, requireFunction, requireInteger, requireOptions } from '../errors/validate.js';
import type { Device } from '../device/device.js';
import type { StreamQueue } from '../device/stream-queue.js';
import { PRIORITY_GREATEST, PRIORITY_LEAST } from './device-service.js';
import type { Event, Stream } from './handles.js';
import type { RuntimeCore } from './runtime-core.js';

/** Options of `streamCreate` (`cudaStreamCreateWithPriority` and its flags). */
export interface StreamOptions {
  /** Lower number = higher priority; clamped to the device's range. @default 0 */
  priority?: number;
  /** Exempt from the legacy default stream's implicit synchronization. @default false */
  nonBlocking?: boolean;
}

/** How long streamCreate waits for destroyed streams to drain before reporting no free stream. */
const STREAM_RECORD_WAIT_MS = 5000;

/** Streams: creation, pools, current streams, stream-ordered waits, synchronization. */
export class StreamService {
  readonly #core: RuntimeCore;

  /** @internal */
  constructor(core: RuntimeCore) {
    this.#core = core;
  }

  streamCreate(options?: unknown): Stream {
    const call = 'streamCreate';
    const device = this.#core.currentDevice(call);
    const o = requireOptions<StreamOptions>(call, options);
    const priority = requireInteger(call, 'options.priority', given(o.priority, 0), Number.MIN_SAFE_INTEGER);
    const nonBlocking = requireBoolean(call, 'options.nonBlocking', given(o.nonBlocking, false));
    return this.#create(call, device, Math.min(PRIORITY_LEAST, Math.max(PRIORITY_GREATEST, priority)), nonBlocking);
  }

  defaultStream(device?: unknown, call = 'defaultStream'): Stream {
    return this.#core.defaultStreams[this.#core.deviceOrCurrent(call, device)]!;
  }

  streamGetPriority(stream: unknown, call = 'streamGetPriority'): number {
    return this.#core.queue(call, stream).priority;
  }

  streamQuery(stream: unknown): boolean {
    const call = 'streamQuery';
    const queue = this.#core.queue(call, stream);
    queue.device.throwIfFailed(call);
    const idle = queue.idle;
    // Seeing the work done orders later host work after it, as a synchronization does (CUDA): observers learn it.
    if (idle) this.#core.endSync(call, queue.device.index, queue, undefined, 0);
    return idle;
  }

  streamSynchronize(stream: unknown, options?: unknown): Promise<void> {
    const call = 'streamSynchronize';
    try {
      const queue = this.#core.queue(call, stream);
      return this.#core.synchronize(call, queue, queue.submitted, undefined, this.#core.waitBounds(call, options));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  streamSynchronizeSync(stream: unknown, options?: unknown): void {
    const call = 'streamSynchronizeSync';
    const queue = this.#core.queue(call, stream);
    this.#core.synchronizeSync(call, queue, queue.submitted, undefined, this.#core.syncTimeout(call, options));
  }

  streamWaitEvent(stream: unknown, event: unknown): void {
    const call = 'streamWaitEvent';
    const core = this.#core;
    const queue = core.queue(call, stream);
    const state = core.event(call, event);
    queue.device.throwIfFailed(call);
    const record = state.record;
    if (record === undefined) return;
    // Work recorded on a failed device never ran: waiting on it is that device's error, not a no-op.
    record.queue.device.throwIfFailed(call);
    if (record.queue.hasCompleted(record.seq)) return core.noteSkippedWait(call, queue, record.queue, record.seq, 'event', event as Event);
    core.traced(call, queue, () => core.enqueueWait(call, queue, record.queue, record.seq, 'event', event as Event, record.span));
  }

  streamWaitStream(stream: unknown, other: unknown): void {
    const call = 'streamWaitStream';
    const core = this.#core;
    const queue = core.queue(call, stream);
    const target = core.queue(call, other);
    queue.device.throwIfFailed(call);
    target.device.throwIfFailed(call);
    if (target === queue) return;
    if (target.hasCompleted(target.submitted)) return core.noteSkippedWait(call, queue, target, target.submitted, 'stream');
    core.traced(call, queue, () => core.enqueueWait(call, queue, target, target.submitted, 'stream'));
  }

  streamDestroy(stream: unknown): void {
    const call = 'streamDestroy';
    const core = this.#core;
    const queue = core.queue(call, stream);
    if (queue.isDefault) throw invalidHandle(call, `${stream} is a default stream and cannot be destroyed`);
    if (core.pools.owns(queue)) throw invalidHandle(call, `${stream} belongs to the stream pool and cannot be destroyed`);
    if (core.current.stream(queue.device.index) === stream) core.current.setStream(queue.device.index, undefined);
    core.devices[queue.device.index]!.destroyStream(queue);
    if (core.observer.listeners.streamDestroy !== undefined) core.observer.emit('streamDestroy', { device: queue.device.index, stream: stream as Stream });
  }

  getStreamFromPool(options?: unknown): Stream {
    const call = 'getStreamFromPool';
    const core = this.#core;
    core.open(call);
    const o = requireOptions<{ highPriority: boolean; device: number }>(call, options);
    const high = requireBoolean(call, 'options.highPriority', given(o.highPriority, false));
    const device = core.devices[core.deviceOrCurrent(call, o.device)]!;
    device.throwIfFailed(call);
    return core.pools.next(device, high, (priority) => this.#create(call, device, priority, true));
  }

  getCurrentStream(device?: unknown, call = 'getCurrentStream'): Stream {
    const d = this.#core.deviceOrCurrent(call, device);
    return this.#core.handleOf(this.#core.currentQueueOf(call, this.#core.devices[d]!));
  }

  setCurrentStream(stream: unknown, call = 'setCurrentStream'): void {
    const queue = this.#core.queue(call, stream);
    this.#core.current.setStream(queue.device.index, queue.isDefault ? undefined : (stream as Stream));
  }

  withStream<T>(stream: unknown, fn: unknown): T {
    const call = 'withStream';
    const queue = this.#core.queue(call, stream);
    return this.#core.current.run(queue.device.index, requireFunction<() => T>(call, 'fn', fn), stream as Stream);
  }

  #create(call: string, device: Device, priority: number, nonBlocking: boolean): Stream {
    const core = this.#core;
    let queue: StreamQueue | undefined;
    // True once there is a queue, or no destroyed stream left to drain (draining is looked
    // at first: a record that drains between the two looks is still found).
    const attempt = (): boolean => {
      const draining = device.hasDrainingRecords;
      queue = device.createStream(priority, nonBlocking);
      return queue !== undefined || !draining;
    };
    // The limit counts live streams: records of destroyed ones come back once their work drains.
    if (!attempt() && core.waiter.blockingIsSafe) {
      const ready = () => {
        device.throwIfFailed(call);
        return attempt();
      };
      core.waiter.waitSync(call, [device], ready, STREAM_RECORD_WAIT_MS);
    }
    if (queue === undefined) throw openRegError('outOfStreams', { call, device: device.index, count: device.queues.length - 1 }, device.index);
    const stream = core.newStream(queue);
    if (core.observer.listeners.streamCreate !== undefined) core.observer.emit('streamCreate', { device: device.index, stream, priority, nonBlocking });
    return stream;
  }
}

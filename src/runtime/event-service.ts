import { invalidHandle, openRegError } from '../errors/errors.js';
import { given, requireBoolean, requireOptions } from '../errors/validate.js';
import type { Device } from '../device/device.js';
import { eventEpochIndex, eventTimeIndex } from '../protocol/layout.js';
import { Event, type EventState } from './handles.js';
import type { RuntimeCore } from './runtime-core.js';

/** Options of `eventCreate` (`cudaEventCreateWithFlags`). */
export interface EventOptions {
  /** No timestamps: cheaper, and `eventElapsedTime` rejects the event. @default false */
  disableTiming?: boolean;
  /** Accepted for CUDA compatibility: host waits always sleep rather than spin for long. @default false */
  blockingSync?: boolean;
}

/** Events: markers in streams, with completion queries, host waits and timing. */
export class EventService {
  readonly #core: RuntimeCore;

  /** @internal */
  constructor(core: RuntimeCore) {
    this.#core = core;
  }

  eventCreate(options?: unknown): Event {
    const call = 'eventCreate';
    const device = this.#core.currentDevice(call);
    const state = this.#newState(call, options);
    this.#bind(call, state, device);
    return this.#created(new Event(state));
  }

  lazyEvent(options?: unknown): Event {
    const call = 'lazyEvent';
    this.#core.open(call);
    return this.#created(new Event(this.#newState(call, options)));
  }

  eventRecord(event: unknown, stream?: unknown): void {
    const call = 'eventRecord';
    const core = this.#core;
    const state = core.event(call, event);
    const queue = core.queueOrCurrent(call, stream);
    if (state.device < 0) this.#bind(call, state, core.devices[queue.device.index]!);
    if (queue.device.index !== state.device) {
      throw invalidHandle(call, `${event} belongs to device ${state.device} but the stream is on device ${queue.device.index}`);
    }
    queue.device.throwIfFailed(call);
    const epoch = core.events.nextEpoch();
    let span = 0;
    const seq = core.traced(call, queue, () => {
      span = core.currentSpan;
      return queue.enqueueRecordEvent(state.slot, epoch, state.timing, call);
    });
    state.record = { queue, seq, epoch, span };
    if (core.observer.listeners.eventRecord !== undefined) {
      core.observer.emit('eventRecord', { device: state.device, stream: core.handleOf(queue), seq, event: event as Event, span });
    }
  }

  eventQuery(event: unknown): boolean {
    const call = 'eventQuery';
    const record = this.#core.event(call, event).record;
    if (record === undefined) return true;
    record.queue.device.throwIfFailed(call);
    const done = record.queue.hasCompleted(record.seq);
    // Seeing the recorded work done orders later host work after it, as eventSynchronize does (CUDA): observers learn it.
    if (done) this.#core.endSync(call, record.queue.device.index, record.queue, event as Event, 0);
    return done;
  }

  eventSynchronize(event: unknown, options?: unknown): Promise<void> {
    const call = 'eventSynchronize';
    try {
      const record = this.#core.event(call, event).record;
      const bounds = this.#core.waitBounds(call, options);
      if (record === undefined) return Promise.resolve();
      return this.#core.synchronize(call, record.queue, record.seq, event as Event, bounds);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  eventSynchronizeSync(event: unknown, options?: unknown): void {
    const call = 'eventSynchronizeSync';
    const record = this.#core.event(call, event).record;
    const timeoutMs = this.#core.syncTimeout(call, options);
    if (record === undefined) return;
    this.#core.synchronizeSync(call, record.queue, record.seq, event as Event, timeoutMs);
  }

  eventElapsedTime(start: unknown, end: unknown): number {
    const call = 'eventElapsedTime';
    const core = this.#core;
    const a = core.event(call, start);
    const b = core.event(call, end);
    for (const [name, s] of [['start', a], ['end', b]] as const) {
      if (!s.timing) throw invalidHandle(call, `${name} event was created with disableTiming`);
      if (s.record === undefined) throw invalidHandle(call, `${name} event was never recorded`);
    }
    if (a.device !== b.device) throw invalidHandle(call, `the events are on different devices (${a.device} and ${b.device})`);
    for (const s of [a, b]) {
      const r = s.record!;
      r.queue.device.throwIfFailed(call);
      if (!r.queue.hasCompleted(r.seq) || Atomics.load(core.runtimeWords, eventEpochIndex(s.slot)) !== r.epoch) {
        throw openRegError('notReady', { call, which: s === a ? 'start' : 'end' });
      }
    }
    return core.runtimeF64[eventTimeIndex(b.slot)]! - core.runtimeF64[eventTimeIndex(a.slot)]!;
  }

  eventDestroy(event: unknown): void {
    const core = this.#core;
    const state = core.event('eventDestroy', event);
    state.destroyed = true;
    if (state.slot >= 0) core.events.release(state);
    if (core.observer.listeners.eventDestroy !== undefined) core.observer.emit('eventDestroy', { device: state.device, event: event as Event });
  }

  #newState(call: string, options: unknown): EventState {
    const o = requireOptions<EventOptions>(call, options);
    const disableTiming = requireBoolean(call, 'options.disableTiming', given(o.disableTiming, false));
    const blockingSync = requireBoolean(call, 'options.blockingSync', given(o.blockingSync, false));
    return { owner: this.#core.owner, device: -1, slot: -1, timing: !disableTiming, blockingSync, generation: -1, destroyed: false, record: undefined };
  }

  #bind(call: string, state: EventState, device: Device): void {
    const slot = this.#core.events.allocate();
    if (slot < 0) throw openRegError('outOfEvents', { call });
    state.slot = slot;
    state.device = device.index;
    state.generation = device.generation;
    this.#core.events.track(state);
  }

  #created(event: Event): Event {
    const core = this.#core;
    if (core.observer.listeners.eventCreate !== undefined) core.observer.emit('eventCreate', { device: event.device, event });
    return event;
  }
}

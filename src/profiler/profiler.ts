import { AsyncLocalStorage } from 'node:async_hooks';
import { writeFile } from 'node:fs/promises';
import { invalidValue } from '../errors/errors.js';
import { sharedClockMs } from '../protocol/clock.js';
import { DeviceWord, TRACE_HEADER_BYTES, TRACE_RECORD_F64, TraceField, TraceKind, TraceWord } from '../protocol/layout.js';
import type { Device } from '../runtime/device.js';
import type { StreamQueue } from '../stream/stream-queue.js';
import { toChromeTrace } from './chrome-trace.js';
import type { ProfileFlow, ProfileKind, ProfileRecord } from './profile-record.js';

const DEVICE_KINDS: Record<number, ProfileKind> = {
  [TraceKind.KERNEL]: 'kernel',
  [TraceKind.MEMCPY]: 'memcpy',
  [TraceKind.MEMSET]: 'memset',
  [TraceKind.HOST_FUNCTION]: 'hostFunction',
  [TraceKind.EVENT_RECORD]: 'eventRecord',
  [TraceKind.WAIT]: 'wait',
};

/**
 * The profiler (OpenReg's tracer, grown up): while started, API calls are recorded on
 * the main thread and every command's execution in the device workers, on one shared
 * clock, linked by correlation ids. When stopped it costs one check per API call.
 */
export class Profiler {
  /** True while recording: the runtime checks this before doing any profiling work. */
  active = false;
  readonly #devices: readonly Device[];
  readonly #kernelName: (id: number) => string;
  readonly #stacks = new AsyncLocalStorage<number[]>();
  readonly #rootStack: number[] = [];
  #nextCorrelation = 1;
  #host: ProfileRecord[] = [];
  #flows: ProfileFlow[] = [];
  #records: ProfileRecord[] = [];
  #dropped = 0;

  /** @internal use rt.profiler */
  constructor(devices: readonly Device[], kernelName: (id: number) => string) {
    this.#devices = devices;
    this.#kernelName = kernelName;
  }

  start(): void {
    if (this.active) return;
    this.#host = [];
    this.#flows = [];
    this.#dropped = 0;
    for (const d of this.#devices) {
      const words = new Int32Array(d.traceBuffer, 0, TRACE_HEADER_BYTES / 4);
      Atomics.store(words, TraceWord.COUNT, 0);
      Atomics.store(words, TraceWord.DROPPED, 0);
      Atomics.store(d.control, DeviceWord.TRACING, 1);
    }
    this.active = true;
  }

  /**
   * Stops recording and returns the records, ordered by start time. Work still running
   * on the devices keeps its records only if it finished before the stop.
   */
  stop(): ProfileRecord[] {
    if (!this.active) return this.#records;
    this.active = false;
    const records = [...this.#host];
    for (const d of this.#devices) {
      Atomics.store(d.control, DeviceWord.TRACING, 0);
      const words = new Int32Array(d.traceBuffer, 0, TRACE_HEADER_BYTES / 4);
      const f64 = new Float64Array(d.traceBuffer, TRACE_HEADER_BYTES);
      const count = Atomics.load(words, TraceWord.COUNT);
      this.#dropped += Atomics.load(words, TraceWord.DROPPED);
      for (let i = 0; i < count; i++) {
        const b = i * TRACE_RECORD_F64;
        const kind = DEVICE_KINDS[f64[b + TraceField.KIND]!] ?? 'runtime';
        const name = f64[b + TraceField.NAME]!;
        records.push({
          kind,
          name: kind === 'kernel' ? this.#kernelName(name) : kind === 'eventRecord' ? `event ${name}` : kind,
          thread: 'device',
          device: d.index,
          stream: f64[b + TraceField.STREAM]!,
          start: f64[b + TraceField.START]!,
          end: f64[b + TraceField.END]!,
          bytes: f64[b + TraceField.BYTES]!,
          correlation: f64[b + TraceField.CORRELATION]!,
        });
      }
    }
    records.sort((a, b) => a.start - b.start);
    this.#records = records;
    return records;
  }

  /** Records of the last session (after stop). */
  get records(): readonly ProfileRecord[] {
    return this.#records;
  }

  /** Device records lost because a trace buffer was full. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Makes `id` the correlation id of the API calls that follow in this async context. */
  pushCorrelationId(id: number): void {
    if (typeof id !== 'number' || !Number.isInteger(id) || id <= 0 || id > 0x7fffffff) {
      throw invalidValue('pushCorrelationId', 'id must be an integer in [1, 2^31)', id);
    }
    (this.#stacks.getStore() ?? this.#rootStack).push(id);
  }

  popCorrelationId(): number | undefined {
    return (this.#stacks.getStore() ?? this.#rootStack).pop();
  }

  /** Runs `fn` with correlation id `id` in a scope of its own. */
  withCorrelationId<T>(id: number, fn: () => T): T {
    const stack = [...(this.#stacks.getStore() ?? this.#rootStack)];
    return this.#stacks.run(stack, () => {
      this.pushCorrelationId(id);
      return fn();
    });
  }

  /** Writes the last session as Trace Event Format JSON (Perfetto, chrome://tracing). */
  async exportChromeTrace(path: string): Promise<void> {
    if (typeof path !== 'string' || path.length === 0) throw invalidValue('exportChromeTrace', 'path must be a file path', path);
    if (this.active) throw invalidValue('exportChromeTrace', 'the profiler is running: stop it first');
    await writeFile(path, JSON.stringify(toChromeTrace(this.#records, this.#flows, this.#devices.length)));
  }

  /** @internal Runs an enqueueing API call as a traced span; its commands carry its correlation id. */
  call<T>(name: string, queue: StreamQueue, fn: (correlation: number) => T): T {
    const stack = this.#stacks.getStore() ?? this.#rootStack;
    const correlation = stack.length > 0 ? stack[stack.length - 1]! : this.#nextCorrelation++ & 0x7fffffff;
    const device = queue.device;
    const start = sharedClockMs();
    device.correlation = correlation;
    try {
      return fn(correlation);
    } finally {
      device.correlation = 0;
      this.#host.push({ kind: 'runtime', name, thread: 'host', device: device.index, stream: queue.index, start, end: sharedClockMs(), bytes: 0, correlation });
    }
  }

  /** @internal A host span that enqueues nothing (a synchronization, an allocation), from `start` until now. */
  hostSpan(kind: 'synchronization' | 'runtime', name: string, device: number, stream: number, start: number, bytes = 0): void {
    this.#host.push({ kind, name, thread: 'host', device, stream, start, end: sharedClockMs(), bytes, correlation: 0 });
  }

  /** @internal An event wait enqueued by `to` on the work recorded by `from`. */
  flow(from: number, to: number): void {
    if (from > 0) this.#flows.push({ from, to });
  }
}

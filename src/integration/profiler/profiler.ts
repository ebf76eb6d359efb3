import { writeFile } from 'node:fs/promises';
import { invalidValue } from '../../errors/errors.js';
import { requireString } from '../../errors/validate.js';
import { TraceKind, TraceReader } from '../../protocol/trace-format.js';
import type { IntegrationContext } from '../../runtime/runtime-api.js';
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
 * The profiler (OpenReg's tracer, grown up): while started, it subscribes to the
 * runtime's observer channel for API calls (timed and correlated) and reads every
 * command's execution from the device workers' trace buffers, all on one shared clock.
 * Stopped, it is not subscribed and costs nothing.
 */
export class Profiler {
  readonly #ctx: IntegrationContext;
  readonly #readers: TraceReader[];
  #unsubscribe: (() => void) | undefined;
  #host: ProfileRecord[] = [];
  #flows: ProfileFlow[] = [];
  #records: ProfileRecord[] = [];
  /** Correlation id of each traced call of the session, by its span. */
  readonly #correlationOf = new Map<number, number>();
  #dropped = 0;

  /** @internal use rt.profiler */
  constructor(ctx: IntegrationContext) {
    this.#ctx = ctx;
    this.#readers = ctx.traceBuffers().map((b) => new TraceReader(b));
  }

  /** True while recording. */
  get active(): boolean {
    return this.#unsubscribe !== undefined;
  }

  start(): void {
    this.#ctx.open('profiler.start');
    if (this.active) return;
    this.#host = [];
    this.#flows = [];
    this.#dropped = 0;
    for (const r of this.#readers) r.reset();
    this.#ctx.setTracing(true);
    this.#correlationOf.clear();
    const host = (kind: 'runtime' | 'synchronization', name: string, device: number, stream: number, start: number, end: number, bytes: number, correlation: number, span: number) =>
      this.#host.push({ kind, name, thread: 'host', device, stream, start, end, bytes, correlation, span });
    this.#unsubscribe = this.#ctx.observer.subscribe(
      {
        apiCall: (e) => {
          if (e.span > 0) this.#correlationOf.set(e.span, e.correlation);
          host('runtime', e.call, e.device, e.stream, e.start, e.end, e.bytes, e.correlation, e.span);
        },
        synchronized: (e) => {
          if (e.start !== 0) host('synchronization', e.call, e.device, e.stream?.id ?? -1, e.start, e.end, 0, 0, 0);
        },
        streamWait: (e) => {
          if (e.fromSpan > 0 && e.span > 0) this.#flows.push({ from: e.fromSpan, to: e.span });
        },
      },
      { timing: true },
    );
  }

  /**
   * Stops recording and returns the records, ordered by start time. Work still running
   * on the devices keeps its records only if it finished before the stop.
   */
  stop(): ProfileRecord[] {
    if (!this.active) return this.#records;
    this.#unsubscribe!();
    this.#unsubscribe = undefined;
    this.#ctx.setTracing(false);
    const records = [...this.#host];
    this.#readers.forEach((reader, device) => {
      this.#dropped += reader.dropped;
      for (const r of reader.read()) {
        const kind = DEVICE_KINDS[r.kind] ?? 'runtime';
        const name = kind === 'kernel' ? this.#ctx.kernelName(r.name) : kind === 'eventRecord' ? `event ${r.name}` : kind;
        // Commands carry their call's span; the record reports the call's correlation id too.
        const correlation = this.#correlationOf.get(r.correlation) ?? 0;
        records.push({ kind, name, thread: 'device', device, stream: r.stream, start: r.start, end: r.end, bytes: r.bytes, correlation, span: r.correlation });
      }
    });
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
    this.#ctx.correlation.push('profiler.pushCorrelationId', id);
  }

  popCorrelationId(): number | undefined {
    return this.#ctx.correlation.pop();
  }

  /** Runs `fn` with correlation id `id` in a scope of its own. */
  withCorrelationId<T>(id: number, fn: () => T): T {
    return this.#ctx.correlation.run('profiler.withCorrelationId', id, fn);
  }

  /** Writes the last session as Trace Event Format JSON (Perfetto, chrome://tracing). */
  async exportChromeTrace(path: string): Promise<void> {
    const call = 'profiler.exportChromeTrace';
    requireString(call, 'path', path);
    if (this.active) throw invalidValue(call, 'the profiler is running: stop it first');
    await writeFile(path, JSON.stringify(toChromeTrace(this.#records, this.#flows, this.#ctx.deviceCount)));
  }
}

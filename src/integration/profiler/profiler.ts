import { writeFile } from 'node:fs/promises';
import { invalidValue } from '../../errors/errors.js';
import { requireString } from '../../errors/validate.js';
import { TraceKind, TraceReader } from '../../protocol/trace-format.js';
import type { IntegrationContext } from '../../runtime/runtime-api.js';
import { toChromeTrace } from './chrome-trace.js';
import { type CommunicationOverlap, communicationOverlap } from './communication-overlap.js';
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
  /** The collectives of the session: their ranks' (device, stream) and the spans of their calls. */
  #collectives: { call: string; streams: readonly (readonly [number, number])[]; bytes: number; firstSpan: number; lastSpan: number }[] = [];
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
    this.#collectives = [];
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
          if (e.fromSpan > 0 && e.span > 0) this.#flows.push({ kind: 'eventWait', from: e.fromSpan, to: e.span });
        },
        collective: (e) => {
          if (e.firstSpan > 0) this.#collectives.push({ call: e.call, streams: e.streams.map((s) => [s.device, s.id] as const), bytes: e.bytes, firstSpan: e.firstSpan, lastSpan: e.lastSpan });
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
    records.push(...this.#collectiveRecords(records));
    records.sort((a, b) => a.start - b.start);
    this.#records = records;
    return records;
  }

  /**
   * One record per rank of each collective, from its first command on the rank's stream to its
   * last (the waits where the ranks meet included), and flows between every pair of ranks.
   */
  #collectiveRecords(records: readonly ProfileRecord[]): ProfileRecord[] {
    const out: ProfileRecord[] = [];
    if (this.#collectives.length === 0) return out;
    // Each stream's device records, gathered once for all the collectives.
    const byStream = new Map<string, ProfileRecord[]>();
    for (const r of records) {
      if (r.thread !== 'device') continue;
      const key = `${r.device}:${r.stream}`;
      const list = byStream.get(key);
      if (list === undefined) byStream.set(key, [r]);
      else list.push(r);
    }
    for (const c of this.#collectives) {
      const ranks: ProfileRecord[] = [];
      for (const [device, stream] of c.streams) {
        const work = (byStream.get(`${device}:${stream}`) ?? []).filter((r) => r.span >= c.firstSpan && r.span <= c.lastSpan);
        if (work.length === 0) continue;
        const first = work.reduce((a, b) => (b.span < a.span ? b : a));
        const start = Math.min(...work.map((r) => r.start));
        const end = Math.max(...work.map((r) => r.end));
        ranks.push({ kind: 'collective', name: c.call, thread: 'device', device, stream, start, end, bytes: c.bytes, correlation: first.correlation, span: first.span });
      }
      for (const a of ranks) for (const b of ranks) if (a !== b) this.#flows.push({ kind: 'collective', from: a.span, to: b.span });
      out.push(...ranks);
    }
    return out;
  }

  /** Records of the last session (after stop). */
  get records(): readonly ProfileRecord[] {
    return this.#records;
  }

  /** Of the last session's collectives, how much device time ran while computation ran elsewhere. */
  communicationOverlap(): CommunicationOverlap {
    if (this.active) throw invalidValue('profiler.communicationOverlap', 'the profiler is running: stop it first');
    return communicationOverlap(this.#records);
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

import type { ProfileFlow, ProfileRecord } from './profile-record.js';

/** An event of the Trace Event Format (what chrome://tracing and Perfetto read). */
export interface TraceEvent {
  name: string;
  ph: 'X' | 'M' | 's' | 'f';
  pid: number;
  tid: number;
  ts?: number;
  dur?: number;
  cat?: string;
  id?: number;
  bp?: 'e';
  args?: Record<string, unknown>;
}

/**
 * Trace Event Format JSON for a profile: one process per device and one for the host,
 * one track per stream, complete ("X") events for spans, and flow arrows from each API
 * call to the device work it enqueued, from an event's record to the waits on it, and
 * between the ranks of each collective.
 */
export function toChromeTrace(records: readonly ProfileRecord[], flows: readonly ProfileFlow[], deviceCount: number): { traceEvents: TraceEvent[]; displayTimeUnit: 'ms' } {
  const hostPid = deviceCount;
  const origin = records.reduce((min, r) => Math.min(min, r.start), Number.POSITIVE_INFINITY);
  const us = (ms: number) => Math.round((ms - origin) * 1000 * 1000) / 1000;
  const events: TraceEvent[] = [];
  for (let d = 0; d < deviceCount; d++) events.push({ name: 'process_name', ph: 'M', pid: d, tid: 0, args: { name: `device ${d}` } });
  events.push({ name: 'process_name', ph: 'M', pid: hostPid, tid: 0, args: { name: 'host' } });
  events.push({ name: 'thread_name', ph: 'M', pid: hostPid, tid: 0, args: { name: 'main thread' } });
  const tracks = new Set<string>();
  const lanes = hostLanes(records);
  const pidOf = (r: ProfileRecord) => (r.thread === 'host' ? hostPid : r.device);
  const tidOf = (r: ProfileRecord) => (r.thread === 'host' ? lanes.get(r)! : r.stream);
  for (let lane = 1; lane <= Math.max(0, ...lanes.values()); lane++) {
    events.push({ name: 'thread_name', ph: 'M', pid: hostPid, tid: lane, args: { name: `host waits ${lane}` } });
  }
  for (const r of records) {
    const key = `${pidOf(r)}:${tidOf(r)}`;
    if (r.thread === 'device' && !tracks.has(key)) {
      tracks.add(key);
      events.push({ name: 'thread_name', ph: 'M', pid: r.device, tid: r.stream, args: { name: r.stream === 0 ? 'default stream' : `stream ${r.stream}` } });
    }
    events.push({
      name: r.name,
      cat: r.kind,
      ph: 'X',
      pid: pidOf(r),
      tid: tidOf(r),
      ts: us(r.start),
      dur: Math.max(0, us(r.end) - us(r.start)),
      args: { correlation: r.correlation, span: r.span, device: r.device, stream: r.stream, ...(r.bytes > 0 ? { bytes: r.bytes } : {}) },
    });
  }
  let flowId = 1;
  const arrow = (from: ProfileRecord, to: ProfileRecord, name: string) => {
    const id = flowId++;
    events.push({ name, cat: 'flow', ph: 's', id, pid: pidOf(from), tid: tidOf(from), ts: us(from.start) });
    events.push({ name, cat: 'flow', ph: 'f', bp: 'e', id, pid: pidOf(to), tid: tidOf(to), ts: us(to.start) });
  };
  // API call → the device work it enqueued: by span, each call's own id.
  const hostBySpan = new Map<number, ProfileRecord>();
  for (const r of records) if (r.thread === 'host' && r.kind === 'runtime' && r.span > 0) hostBySpan.set(r.span, r);
  for (const r of records) {
    const call = r.thread === 'device' && r.kind !== 'wait' ? hostBySpan.get(r.span) : undefined;
    if (call !== undefined) arrow(call, r, 'launch');
  }
  // Event record → the wait that depends on it; a collective's rank → each rank it meets.
  const [fromKind, toKind] = [{ eventWait: 'eventRecord', collective: 'collective' }, { eventWait: 'wait', collective: 'collective' }] as const;
  for (const f of flows) {
    const from = records.find((r) => r.thread === 'device' && r.kind === fromKind[f.kind] && r.span === f.from);
    const to = records.find((r) => r.thread === 'device' && r.kind === toKind[f.kind] && r.span === f.to);
    if (from !== undefined && to !== undefined) arrow(from, to, f.kind === 'eventWait' ? 'event wait' : 'collective');
  }
  return { traceEvents: events, displayTimeUnit: 'ms' };
}

/**
 * Host track of each host record: API calls on the main thread's track (0); awaited
 * synchronizations may overlap each other (`Promise.all` of two waits), and complete
 * events that overlap on one track are drawn wrongly, so each goes to the first lane
 * (1, 2, …) free at its start.
 */
function hostLanes(records: readonly ProfileRecord[]): Map<ProfileRecord, number> {
  const lanes = new Map<ProfileRecord, number>();
  const busyUntil: number[] = [];
  for (const r of records) {
    if (r.thread !== 'host') continue;
    if (r.kind !== 'synchronization') {
      lanes.set(r, 0);
      continue;
    }
    let lane = busyUntil.findIndex((end) => end <= r.start);
    if (lane < 0) lane = busyUntil.push(r.end) - 1;
    else busyUntil[lane] = r.end;
    lanes.set(r, lane + 1);
  }
  return lanes;
}

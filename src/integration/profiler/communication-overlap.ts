import type { ProfileRecord } from './profile-record.js';

/** How much of a profile's communication ran behind computation. */
export interface CommunicationOverlap {
  /** Device time of the kernels and copies inside collectives (their waits excluded), ms. */
  communicationMs: number;
  /** The part of it during which computation (kernels and copies outside collectives) ran on some stream, ms. */
  hiddenMs: number;
  /** hiddenMs / communicationMs (0 when there was no communication). */
  fraction: number;
}

const isWork = (r: ProfileRecord): boolean => r.thread === 'device' && (r.kind === 'kernel' || r.kind === 'memcpy');

/**
 * The overlap of communication with computation (what DistributedDataParallel's side streams
 * buy): a device worker runs one command at a time, so on openreg communication can hide only
 * behind another device's work.
 */
export function communicationOverlap(records: readonly ProfileRecord[]): CommunicationOverlap {
  const collectives = records.filter((r) => r.kind === 'collective');
  const inCollective = (r: ProfileRecord): boolean => collectives.some((c) => c.device === r.device && c.stream === r.stream && r.start >= c.start && r.end <= c.end);
  const communication: ProfileRecord[] = [];
  const computation: ProfileRecord[] = [];
  for (const r of records) if (isWork(r)) (inCollective(r) ? communication : computation).push(r);
  computation.sort((a, b) => a.start - b.start);
  let communicationMs = 0;
  let hiddenMs = 0;
  for (const c of communication) {
    communicationMs += c.end - c.start;
    // The union of the computation intervals over [c.start, c.end).
    let reach = c.start;
    for (const w of computation) {
      if (w.start >= c.end) break;
      if (w.end <= reach) continue;
      hiddenMs += Math.min(w.end, c.end) - Math.max(w.start, reach);
      reach = Math.min(w.end, c.end);
    }
  }
  return { communicationMs, hiddenMs, fraction: communicationMs === 0 ? 0 : hiddenMs / communicationMs };
}

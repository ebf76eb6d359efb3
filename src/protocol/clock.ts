import { performance } from 'node:perf_hooks';

// performance.timeOrigin differs per thread (measured ~4 ms apart); uv_hrtime is one
// process-wide monotonic clock. Calibrate once per thread, then read the cheap clock.
const offsetMs = calibrate();

/** Milliseconds on the clock shared by every thread of the process. */
export function sharedClockMs(): number {
  return performance.now() + offsetMs;
}

/**
 * The offset from this thread's performance.now() to uv_hrtime, from the tightest of
 * several bracketed readings: a thread descheduled between two reads (a worker starting
 * on a loaded machine) would otherwise skew every timestamp it takes by milliseconds.
 */
function calibrate(): number {
  let best = Number.POSITIVE_INFINITY;
  let offset = 0;
  for (let i = 0; i < 32; i++) {
    const before = performance.now();
    const hr = Number(process.hrtime.bigint()) / 1e6;
    const after = performance.now();
    if (after - before < best) {
      best = after - before;
      offset = hr - (before + after) / 2;
    }
  }
  return offset;
}

import { performance } from 'node:perf_hooks';

// performance.timeOrigin differs per thread (measured ~4 ms apart); uv_hrtime is one
// process-wide monotonic clock. Calibrate once per thread, then read the cheap clock.
const offsetMs = Number(process.hrtime.bigint()) / 1e6 - performance.now();

/** Milliseconds on the clock shared by every thread of the process. */
export function sharedClockMs(): number {
  return performance.now() + offsetMs;
}

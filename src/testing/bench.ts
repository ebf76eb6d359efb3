import type { Runtime } from '../api/runtime.js';
import type { Stream } from '../runtime/handles.js';

/**
 * `openreg/bench`: a tinybench task function that reports device time, not launch
 * overhead. `body` enqueues the work; events recorded around it on `stream` (as
 * `torch.cuda.Event` timing or Triton's `do_bench` do) give the duration tinybench records
 * (`overriddenDuration`), in milliseconds.
 */
export function deviceTime(rt: Runtime, body: () => unknown, options: { stream?: Stream } = {}): () => Promise<{ overriddenDuration: number }> {
  const stream = options.stream ?? rt.getCurrentStream();
  const start = rt.eventCreate();
  const end = rt.eventCreate();
  return async () => {
    rt.eventRecord(start, stream);
    await rt.withStream(stream, async () => body());
    rt.eventRecord(end, stream);
    await rt.eventSynchronize(end);
    return { overriddenDuration: rt.eventElapsedTime(start, end) };
  };
}

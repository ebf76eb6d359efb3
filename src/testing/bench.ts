import { Runtime } from '../api/runtime.js';
import { invalidValue } from '../errors/errors.js';
import { requireFunction, requireOptions } from '../errors/validate.js';
import { Stream } from '../runtime/handles.js';


/**
 * `openreg/bench`: a tinybench task function that reports device time, not launch
 * overhead. `body` enqueues the work; events recorded around it on `stream` (as
 * `torch.cuda.Event` timing or Triton's `do_bench` do) give the duration tinybench records
 * (`overriddenDuration`), in milliseconds. The end event is recorded only once `body` has
 * returned (and its promise settled), so on an idle stream the figure includes the host
 * time spent inside `body`: keep it to enqueueing the work.
 */
export function deviceTime(rt: Runtime, body: () => unknown, options?: { stream?: Stream }): () => Promise<{ overriddenDuration: number }> {
  const call = 'deviceTime';
  if (!(rt instanceof Runtime)) throw invalidValue(call, 'rt must be a Runtime', rt);
  requireFunction(call, 'body', body);
  const o = requireOptions<{ stream: Stream }>(call, options, 'options', ['stream']);
  if (o.stream !== undefined && !(o.stream instanceof Stream)) throw invalidValue(call, 'options.stream must be a Stream', o.stream);
  const stream = o.stream ?? rt.getCurrentStream();
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

/** A call site as captured: the Error (formatted only if a report needs it), or a note. */
export type Trace = Error | string;

/** Captures the stack now; V8 formats it only when `.stack` is read (a report). */
export function capture(): Error {
  const limit = Error.stackTraceLimit;
  // openreg's own frames come first, and there can be many (dispatcher, autograd, executor).
  Error.stackTraceLimit = 24;
  const error = new Error();
  Error.stackTraceLimit = limit;
  return error;
}

/** The first stack frame outside openreg itself: the user's call site. */
export function format(trace: Trace): string {
  if (typeof trace === 'string') return trace;
  const stack = trace.stack ?? '';
  const frames = stack
    .split('\n')
    .slice(1)
    .map((l) => l.trim().replace(/^at /, ''));
  const user = frames.find((f) => !/[/\\](src|dist[/\\]src)[/\\](runtime|integration|api|tensor|ops|dispatch|serialization|backends|testing|device)[/\\]/.test(f) && !f.includes('node:'));
  return user ?? frames[0] ?? '(unknown)';
}

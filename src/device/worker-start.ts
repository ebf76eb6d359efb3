import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a device worker with the parent's Node options, minus those a worker cannot take.
 * `--eval`/`--print`/`--input-type` make it fail to start; per-process and V8 options
 * (`--max-old-space-size`, `--expose-gc`, `--stack-size`, …) make the constructor throw
 * ERR_WORKER_INVALID_EXEC_ARGV: those are dropped (heap limits belong in `resourceLimits`).
 */
export function startWorker(url: URL, options: Omit<WorkerOptions, 'execArgv'>): Worker {
  const execArgv = workerExecArgv(process.execArgv);
  try {
    return new Worker(url, { ...options, execArgv });
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ERR_WORKER_INVALID_EXEC_ARGV') throw error;
    return new Worker(url, { ...options, execArgv: withoutFlags(execArgv, rejectedFlags((error as Error).message)) });
  }
}

/** The parent's options minus those that only make sense for the main script. */
export function workerExecArgv(execArgv: readonly string[]): string[] {
  const withValue = new Set(['-e', '--eval', '-p', '--print', '--input-type']);
  const result: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    if (withValue.has(arg)) i++;
    else if (!/^--(eval|print|input-type)=/.test(arg)) result.push(arg);
  }
  return result;
}

/** The flags Node names in "Initiated Worker with invalid execArgv flags: --a, --b=1". */
export function rejectedFlags(message: string): string[] {
  const list = message.slice(message.lastIndexOf(':') + 1);
  return list
    .split(',')
    .map((flag) => flag.trim())
    .filter((flag) => flag.startsWith('-'));
}

/** `execArgv` without `flags`; a flag given without `=` takes its separate value with it. */
export function withoutFlags(execArgv: readonly string[], flags: readonly string[]): string[] {
  const drop = new Set(flags);
  const result: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i]!;
    if (!drop.has(arg)) result.push(arg);
    else if (!arg.includes('=') && i + 1 < execArgv.length && !execArgv[i + 1]!.startsWith('-')) i++;
  }
  return result;
}

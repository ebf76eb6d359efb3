/**
 * A thin layer over tinybench: each task becomes a row with latency percentiles per
 * iteration and a rate per operation (an iteration may be a batch of operations).
 */
import { Bench } from 'tinybench';

export type Subject = 'openreg' | 'baseline' | 'reference';

export interface TaskSpec {
  name: string;
  subject: Subject;
  fn: () => unknown;
  /** Operations one call of `fn` performs (a batch of launches, say). @default 1 */
  ops?: number;
  /** Bytes one call of `fn` moves, for bandwidth. */
  bytes?: number;
}

export interface Row {
  suite: string;
  name: string;
  subject: Subject;
  /** Median and 99th percentile of one call of the task, in µs. */
  p50Us: number;
  p99Us: number;
  meanUs: number;
  samples: number;
  /** Operations per second: ops per call / median call time (robust to the outliers a shared 2-core machine produces). */
  opsPerSecond: number;
  /** GiB/s, for tasks that move bytes. */
  gibPerSecond?: number;
  /** This row against another row of the same run. */
  ratio?: { vs: string; value: number; meaning: string };
}

export interface SuiteOptions {
  /** Measuring time per task, ms. */
  time: number;
  /** Warm-up time per task, ms: long enough for the JIT to settle the hot path. */
  warmupTime: number;
}

export async function measure(suite: string, tasks: TaskSpec[], options: SuiteOptions): Promise<Row[]> {
  const bench = new Bench({ name: suite, time: options.time, warmupTime: options.warmupTime, iterations: 16 });
  for (const t of tasks) bench.add(t.name, t.fn as () => void);
  await bench.run();
  return bench.tasks.map((task, i) => {
    const spec = tasks[i]!;
    const r = task.result;
    if (r.state !== 'completed') throw new Error(`${suite} / ${task.name}: ${r.state}${'error' in r ? `: ${String(r.error)}` : ''}`);
    const medianMs = r.latency.p50;
    const ops = spec.ops ?? 1;
    const row: Row = {
      suite,
      name: spec.name,
      subject: spec.subject,
      p50Us: r.latency.p50 * 1000,
      p99Us: r.latency.p99 * 1000,
      meanUs: r.latency.mean * 1000,
      samples: r.latency.samplesCount,
      opsPerSecond: (ops / medianMs) * 1000,
    };
    if (spec.bytes !== undefined) row.gibPerSecond = spec.bytes / 2 ** 30 / (medianMs / 1000);
    return row;
  });
}

export function row(rows: Row[], name: string): Row {
  const found = rows.find((r) => r.name === name);
  if (found === undefined) throw new Error(`no benchmark row named ${name}`);
  return found;
}

/** `name` as a multiple of `vs`: of its rate (higher is better) or of its speed (vs's median / name's median). */
export function compare(rows: Row[], name: string, vs: string, by: 'rate' | 'bandwidth' | 'latency'): void {
  const a = row(rows, name);
  const b = row(rows, vs);
  const value =
    by === 'rate' ? a.opsPerSecond / b.opsPerSecond : by === 'bandwidth' ? a.gibPerSecond! / b.gibPerSecond! : b.p50Us / a.p50Us;
  const meaning = by === 'latency' ? `× faster than ${vs}` : `× ${by === 'rate' ? 'the rate' : 'the bandwidth'} of ${vs}`;
  a.ratio = { vs, value, meaning };
}

function format(n: number, digits = 2): string {
  if (n >= 100) return Math.round(n).toLocaleString('en-US');
  return n.toFixed(digits);
}

export function printSuite(title: string, rows: Row[]): void {
  console.log(`\n## ${title}`);
  console.table(
    rows.map((r) => ({
      task: r.name,
      'p50 µs': format(r.p50Us),
      'p99 µs': format(r.p99Us),
      rate: r.gibPerSecond !== undefined ? `${format(r.gibPerSecond)} GiB/s` : `${format(r.opsPerSecond / 1e6, 3)} M ops/s`,
      ratio: r.ratio ? `${format(r.ratio.value)} ${r.ratio.meaning}` : '',
    })),
  );
}

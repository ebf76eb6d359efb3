import { invalidValue } from '../errors/errors.js';
import { requireInteger, requireOneOf, requireOptions } from '../errors/validate.js';
import type { Runtime } from '../api/runtime.js';
import type { Stream } from '../runtime/handles.js';
import type { WaitOptions } from '../runtime/wait-options.js';
import type { WorkReceipt } from '../api/work-receipt.js';
import { currentRuntime } from '../tensor/device.js';
import { DTYPES } from '../tensor/dtype.js';
import { noGrad } from '../tensor/grad-mode.js';
import { Tensor } from '../tensor/tensor.js';
import { MemcpyKind } from '../memory/memcpy-kind.js';
import { empty } from '../ops/factories.js';

/**
 * Collectives across openreg devices (NCCL's role, torch.distributed's shape with one rank
 * per device in one process): each is enqueued on one stream per rank (the devices' current
 * streams unless given) and is stream-ordered there — work enqueued before it is included,
 * work after it waits. Ranks meet through stream waits (the sanitizer sees the ordering); each
 * rank's worker pulls the bytes it needs from the others' memory on its own stream, so the
 * ranks copy and reduce in parallel; reductions are device kernels: the main thread only
 * enqueues. A rank whose device fails makes every rank's result reject with that device's
 * error when read (the copies carry it).
 */

export type ReduceOp = 'sum' | 'avg' | 'max' | 'min';
const REDUCE_OPS: readonly ReduceOp[] = ['sum', 'avg', 'max', 'min'];

export interface CollectiveOptions {
  /** One stream per rank, on that rank's device: the collective is ordered there (default: each device's current stream). */
  streams?: readonly Stream[];
}

/**
 * A collective's handle (torch.distributed's Work): `wait()` makes each rank's current stream
 * wait for it, `isCompleted()` asks, `synchronize()` waits on the host.
 */
export class Work {
  readonly #runtime: Runtime;
  readonly #streams: readonly Stream[];
  readonly #done: readonly WorkReceipt[];

  /** @internal */
  constructor(runtime: Runtime, streams: readonly Stream[]) {
    this.#runtime = runtime;
    this.#streams = streams;
    this.#done = streams.map((s) => runtime.workReceipt('Work', s));
  }

  /** Later work on every rank's current stream waits for the collective (for its stream's work as of this call: never less). */
  wait(): void {
    for (const s of this.#streams) {
      const current = this.#runtime.getCurrentStream(s.device);
      if (current !== s) this.#runtime.streamWaitStream(current, s);
    }
  }

  /** True once every rank has finished. */
  isCompleted(): boolean {
    return this.#done.every((r) => r.ran() !== undefined);
  }

  /** Resolves once every rank has finished; rejects with a failed device's error. */
  async synchronize(options?: WaitOptions): Promise<void> {
    await Promise.all(this.#done.map((r) => r.settle(options)));
    for (const r of this.#done) if (r.ran() === false) throw r.error('synchronize');
  }
}

interface Ranks {
  readonly runtime: Runtime;
  readonly streams: readonly Stream[];
}

/** The tensors of a collective: one per rank, each on a different openreg device of one runtime, contiguous. */
function checkRankTensors(call: string, name: string, tensors: unknown, count?: number): Tensor[] {
  if (!Array.isArray(tensors) || tensors.length === 0) throw invalidValue(call, `${name} must be a non-empty array of tensors, one per device`, tensors);
  if (count !== undefined && tensors.length !== count) throw invalidValue(call, `${name} must hold ${count} tensors (one per rank), got ${tensors.length}`);
  for (const t of tensors) {
    if (!(t instanceof Tensor)) throw invalidValue(call, `${name} must hold Tensors`, t);
    if (t.device.type !== 'openreg') throw invalidValue(call, `collectives run between openreg devices, got a tensor on ${t.device}`, t.toString());
    if (!t.isContiguous()) throw invalidValue(call, 'tensors must be contiguous', t.toString());
  }
  return tensors as Tensor[];
}

function ranksOf(call: string, tensors: readonly Tensor[], options: unknown, known: readonly string[] = ['streams']): Ranks {
  const o = requireOptions<CollectiveOptions & Record<string, unknown>>(call, options, 'options', known);
  const devices = tensors.map((t) => t.device.index!);
  if (new Set(devices).size !== devices.length) throw invalidValue(call, `each rank needs its own device, got devices ${devices.join(', ')}`);
  const runtime = tensors[0]!.storage(call).runtime!;
  for (const t of tensors) if (t.storage(call).runtime !== runtime) throw invalidValue(call, 'all tensors must belong to one runtime', t.toString());
  let streams: readonly Stream[];
  if (o.streams === undefined) streams = devices.map((d) => runtime.getCurrentStream(d));
  else {
    if (!Array.isArray(o.streams) || o.streams.length !== devices.length) throw invalidValue(call, `options.streams must hold one stream per rank (${devices.length})`, o.streams);
    streams = o.streams;
    streams.forEach((s, r) => {
      if (s.device !== devices[r]) throw invalidValue(call, `options.streams[${r}] is on device ${s.device}, its rank's tensor on device ${devices[r]}`);
    });
  }
  return { runtime, streams };
}

/**
 * Every rank's stream waits for every other rank's stream to reach this point: stream-to-stream
 * waits (no event slots), which the sanitizer sees as ordering. Each wait is for a position
 * already enqueued, so they cannot wait on one another in a circle.
 */
function meet({ runtime, streams }: Ranks): void {
  streams.forEach((s, r) => streams.forEach((other, k) => k !== r && runtime.streamWaitStream(s, other)));
}

/**
 * Enqueues a collective's work with every rank's stream current on its device (ops and
 * cross-device copies then run on the ranks' streams). If a device turns out to have failed
 * while it is enqueued, the call throws that device's error, and every rank's `outputs`
 * depend on every rank's work so far: their reads reject too, never return a half-done result.
 */
function onRanks(call: string, { runtime, streams }: Ranks, outputs: readonly Tensor[], fn: () => void): void {
  const enter = (i: number): void => (i === streams.length ? noGrad(fn) : runtime.withStream(streams[i]!, () => enter(i + 1)));
  try {
    enter(0);
  } catch (error) {
    const receipts = streams.map((s) => runtime.workReceipt(call, s));
    for (const t of outputs) t.storage(call).dependOn(receipts);
    throw error;
  }
}

/**
 * Enqueues a collective as one observable unit (hooks, the profiler's per-rank spans): the ranks
 * meet, `body` enqueues the work, and they meet once more (no rank changes its buffer while
 * others still read it). `bytes`: the size of each rank's tensor. Returns the handle.
 */
function collective(call: string, ranks: Ranks, outputs: readonly Tensor[], bytes: number, body?: () => void): Work {
  ranks.runtime.collective(call, ranks.streams, bytes, () => {
    if (body !== undefined) {
      onRanks(call, ranks, outputs, () => {
        meet(ranks);
        body();
      });
    }
    meet(ranks);
  });
  return new Work(ranks.runtime, ranks.streams);
}

const bytesOf = (t: Tensor): number => t.numel() * t.itemsize;

/** [start, end) of chunk k of n elements split over `count` ranks (the last chunks may be short or empty). */
function chunk(n: number, count: number, k: number): [number, number] {
  const size = Math.ceil(n / count);
  return [Math.min(n, k * size), Math.min(n, (k + 1) * size)];
}

function checkSame(call: string, tensors: readonly Tensor[], what = 'tensors'): void {
  const [first] = tensors;
  for (const t of tensors) {
    if (t.dtype !== first!.dtype || t.shape.join() !== first!.shape.join()) {
      throw invalidValue(call, `${what} must share one shape and dtype: [${first!.shape.join(', ')}] ${first!.dtype} and [${t.shape.join(', ')}] ${t.dtype}`);
    }
  }
}

/**
 * One list of tensors per rank (allGather's outputs, reduceScatter's inputs): list r holds one
 * tensor per rank, all on rank r's device, of the shape and dtype of `ranks` (the other side's
 * one tensor per rank, named `other` in messages).
 */
function checkRankLists(call: string, name: string, lists: unknown, ranks: readonly Tensor[], other: string): Tensor[][] {
  if (!Array.isArray(lists) || lists.length !== ranks.length) throw invalidValue(call, `${name} must hold one list per rank (${ranks.length})`, lists);
  return lists.map((list, r) => {
    const l = checkRankTensors(call, `${name}[${r}]`, list, ranks.length);
    const device = ranks[r]!.device.index;
    for (const t of l) if (t.device.index !== device) throw invalidValue(call, `${name}[${r}] must be on rank ${r}'s device (openreg:${device})`, t.toString());
    checkSame(call, [ranks[0]!, ...l], `${name}[${r}] and the ${other}`);
    return l;
  });
}

function reduceOpOf(call: string, options: unknown, dtype: Tensor['dtype']): ReduceOp {
  const op = (options as { op?: unknown } | undefined)?.op;
  const r = op === undefined ? 'sum' : requireOneOf(call, 'options.op', op, REDUCE_OPS);
  if (dtype === 'bool') throw invalidValue(call, 'bool tensors cannot be reduced');
  if (r === 'avg' && DTYPES[dtype].category !== 'floating') throw invalidValue(call, `avg needs a floating dtype, got ${dtype}`);
  return r;
}

/** acc ⊕= x, in place on acc. */
function accumulate(acc: Tensor, x: Tensor, op: ReduceOp): void {
  if (op === 'sum' || op === 'avg') acc.add_(x);
  else acc.copy_(op === 'max' ? acc.maximum(x) : acc.minimum(x));
}

/** A tensor's elements as one dimension (a view: collectives take contiguous tensors). */
const flat = (t: Tensor): Tensor => t.reshape(-1);

/**
 * dst (contiguous, on rank r's device) ← src (contiguous, on rank k's), copied by rank r's
 * worker on rank r's stream: the ranks have met, so src holds k's data. dst depends on k's
 * work: if k's device fails, reads of dst reject with its error.
 */
function pull(call: string, { runtime, streams }: Ranks, r: number, k: number, dst: Tensor, src: Tensor): void {
  const bytes = bytesOf(dst);
  if (bytes === 0) return;
  runtime.memcpyAsync(dst.dataPtr(), src.dataPtr(), bytes, MemcpyKind.deviceToDevice, streams[r]!);
  dst.storage(call).dependOn([runtime.workReceipt(call, streams[k]!)]);
}

/**
 * Reduces `parts` (one per rank, each contiguous, parts[r] on `into`'s device) into `into`
 * on rank r's stream, pulling the other ranks' parts. `inPlace`: into already holds parts[r].
 */
function reduceInto(call: string, ranks: Ranks, parts: readonly Tensor[], r: number, into: Tensor, op: ReduceOp, inPlace: boolean): void {
  if (!inPlace) into.copy_(parts[r]!);
  parts.forEach((part, k) => {
    if (k === r) return;
    const local = empty(part.shape, { dtype: part.dtype, device: into.device });
    pull(call, ranks, r, k, local, part);
    accumulate(into, local, op);
    local.dispose();
  });
  if (op === 'avg') into.div_(parts.length);
}

/**
 * Reduces every rank's tensor elementwise (sum, avg, max or min) into all of them, in place:
 * each rank reduces its own chunk from everyone's (reduce-scatter), then gathers the others'.
 */
export function allReduce(tensors: readonly Tensor[], options?: CollectiveOptions & { op?: ReduceOp }): Work {
  const call = 'allReduce';
  const ts = checkRankTensors(call, 'tensors', tensors);
  checkSame(call, ts);
  const ranks = ranksOf(call, ts, options, ['streams', 'op']);
  const op = reduceOpOf(call, options, ts[0]!.dtype);
  const n = ts[0]!.numel();
  const count = ts.length;
  // Chunk k of each rank's tensor, as views made once (and disposed: they hold no memory of their own).
  const flats = ts.map(flat);
  const parts = flats.map((f) => Array.from({ length: count }, (_, k) => f.slice(0, ...chunk(n, count, k))));
  try {
    return collective(call, ranks, ts, bytesOf(ts[0]!), () => {
      // Reduce-scatter: rank r reduces chunk r of every rank's tensor into its own.
      for (let r = 0; r < count; r++) {
        if (parts[r]![r]!.numel() > 0) reduceInto(call, ranks, parts.map((p) => p[r]!), r, parts[r]![r]!, op, true);
      }
      meet(ranks);
      // All-gather: rank r pulls each other rank's reduced chunk.
      for (let r = 0; r < count; r++) {
        for (let k = 0; k < count; k++) if (k !== r) pull(call, ranks, r, k, parts[r]![k]!, parts[k]![k]!);
      }
    });
  } finally {
    for (const t of [...parts.flat(), ...flats]) if (!ts.includes(t)) t.dispose();
  }
}

/** Copies rank `src`'s tensor into every other rank's. */
export function broadcast(tensors: readonly Tensor[], options: CollectiveOptions & { src: number }): Work {
  const call = 'broadcast';
  const ts = checkRankTensors(call, 'tensors', tensors);
  checkSame(call, ts);
  const ranks = ranksOf(call, ts, options, ['streams', 'src']);
  const src = requireInteger(call, 'options.src', (options as { src?: unknown } | undefined)?.src, 0, ts.length - 1);
  return collective(call, ranks, ts, bytesOf(ts[0]!), () => ts.forEach((t, r) => r !== src && pull(call, ranks, r, src, t, ts[src]!)));
}

/** outputs[r][k] = inputs[k] on every rank r (PyTorch's all_gather with one output list per rank). */
export function allGather(outputs: readonly (readonly Tensor[])[], inputs: readonly Tensor[], options?: CollectiveOptions): Work {
  const call = 'allGather';
  const ins = checkRankTensors(call, 'inputs', inputs);
  checkSame(call, ins, 'inputs');
  const outs = checkRankLists(call, 'outputs', outputs, ins, 'inputs');
  const ranks = ranksOf(call, ins, options);
  return collective(call, ranks, outs.flat(), bytesOf(ins[0]!), () =>
    outs.forEach((list, r) => list.forEach((o, k) => (k === r ? o.copy_(ins[k]!) : pull(call, ranks, r, k, o, ins[k]!)))),
  );
}

/** outputs[r] = the reduction over k of inputs[k][r] (PyTorch's reduce_scatter with one input list per rank). */
export function reduceScatter(outputs: readonly Tensor[], inputs: readonly (readonly Tensor[])[], options?: CollectiveOptions & { op?: ReduceOp }): Work {
  const call = 'reduceScatter';
  const outs = checkRankTensors(call, 'outputs', outputs);
  checkSame(call, outs, 'outputs');
  const ins = checkRankLists(call, 'inputs', inputs, outs, 'outputs');
  const ranks = ranksOf(call, outs, options, ['streams', 'op']);
  const op = reduceOpOf(call, options, outs[0]!.dtype);
  return collective(call, ranks, outs, bytesOf(outs[0]!), () => outs.forEach((out, r) => reduceInto(call, ranks, ins.map((list) => list[r]!), r, out, op, false)));
}

/** Orders the devices' streams (every device of the runtime by default) after one another's work so far. */
export function barrier(devices?: readonly number[], options?: CollectiveOptions): Work {
  const call = 'barrier';
  const o = requireOptions<CollectiveOptions>(call, options, 'options', ['streams']);
  const runtime = currentRuntime(call);
  const all = devices ?? Array.from({ length: runtime.getDeviceCount() }, (_, d) => d);
  if (!Array.isArray(all) || all.length === 0) throw invalidValue(call, 'devices must be a non-empty array of device indices', devices);
  for (const d of all) requireInteger(call, 'device', d, 0, runtime.getDeviceCount() - 1);
  if (new Set(all).size !== all.length) throw invalidValue(call, 'a device appears twice', devices);
  if (o.streams !== undefined && (!Array.isArray(o.streams) || o.streams.length !== all.length)) throw invalidValue(call, `options.streams must hold one stream per device (${all.length})`, o.streams);
  return collective(call, { runtime, streams: o.streams ?? all.map((d) => runtime.getCurrentStream(d)) }, [], 0);
}

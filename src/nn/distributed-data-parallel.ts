import { invalidValue } from '../errors/errors.js';
import { requireFinite, requireOptions } from '../errors/validate.js';
import type { Runtime } from '../api/runtime.js';
import type { Event, Stream } from '../runtime/handles.js';
import { noGrad } from '../tensor/grad-mode.js';
import type { Tensor } from '../tensor/tensor.js';
import { cat } from '../ops/builtin/cat.js';
import { allReduce, broadcast } from '../collectives/collectives.js';
import { Module } from './module.js';
import { ModuleList } from './containers.js';

/** A group of parameters (one dtype, together at most bucketCapMb) whose gradients are averaged by one all-reduce. */
interface Bucket {
  /** Indices into each replica's parameter list. */
  readonly params: readonly number[];
  /** Gradients still to arrive this iteration, over all ranks. */
  pending: number;
  /** Per rank: its gradients still to arrive this iteration. */
  readonly pendingOf: number[];
  /** Per rank: recorded on its stream when its last gradient of the bucket arrived (the all-reduce waits for that, not for the rest of its backward). */
  readonly ready: readonly Event[];
  launched: boolean;
}

export interface DdpOptions {
  /** Bucket size in MiB (PyTorch's bucket_cap_mb). @default 25 */
  bucketCapMb?: number;
  /** Broadcast rank 0's buffers (batch norm statistics) to the other replicas before each forward. @default true */
  broadcastBuffers?: boolean;
}

/**
 * PyTorch's DistributedDataParallel for openreg devices in one process: one replica of a
 * module per device (rank r's parameters on device r). Construction copies rank 0's
 * parameters and buffers to the others. During backward, a hook after each gradient's
 * accumulation counts it into its bucket (parameters in reverse order, PyTorch's default);
 * once every rank's gradients of a bucket are in, the bucket is all-reduced (averaged) on a
 * side stream per device, overlapping the rest of backward; the last bucket makes every
 * device's current stream wait for the side streams, so `optimizer.step()` sees averaged
 * gradients. `noSync(fn)` accumulates gradients locally (gradient accumulation).
 *
 *     const ddp = new nn.DistributedDataParallel([0, 1].map((d) => new Net().to(`openreg:${d}`)));
 *     const outputs = ddp.call([x0], [x1]);          // one argument list per rank
 *     outputs.forEach((out, r) => loss(out, y[r]).backward());
 *     optimizer.step();                                 // over ddp.parameters(): every replica
 */
export class DistributedDataParallel extends Module {
  readonly replicas: ModuleList;
  readonly bucketCapMb: number;
  readonly broadcastBuffers: boolean;
  readonly #params: readonly (readonly Tensor[])[];
  readonly #buckets: readonly Bucket[];
  /** Per rank, per parameter: its bucket. */
  readonly #bucketOf: readonly number[];
  readonly #sideStreams: readonly Stream[];
  readonly #runtime: Runtime;
  #syncing = true;

  constructor(replicas: readonly Module[], options?: DdpOptions) {
    super();
    const call = 'DistributedDataParallel';
    const o = requireOptions<DdpOptions>(call, options, 'options', ['bucketCapMb', 'broadcastBuffers']);
    if (!Array.isArray(replicas) || replicas.length === 0 || !replicas.every((m) => m instanceof Module)) throw invalidValue(call, 'replicas must be a non-empty array of Modules, one per device', replicas);
    this.bucketCapMb = o.bucketCapMb === undefined ? 25 : requireFinite(call, 'options.bucketCapMb', o.bucketCapMb, 0);
    this.broadcastBuffers = o.broadcastBuffers ?? true;
    this.replicas = new ModuleList(replicas);
    this.#params = replicas.map((m) => m.parameters().filter((p) => p.requiresGrad));
    const [first] = this.#params;
    if (first!.length === 0) throw invalidValue(call, 'the module has no parameter that requires grad');
    this.#params.forEach((list, r) => {
      if (list.length !== first!.length || list.some((p, i) => p.shape.join() !== first![i]!.shape.join() || p.dtype !== first![i]!.dtype)) {
        throw invalidValue(call, `replica ${r} does not have replica 0's parameters (count, shapes and dtypes must match)`);
      }
      const devices = new Set(list.map((p) => p.device.toString()));
      if (devices.size !== 1 || !list[0]!.device.toString().startsWith('openreg:')) throw invalidValue(call, `replica ${r}'s parameters must all be on one openreg device, found ${[...devices].join(', ')}`);
    });
    const devices = this.#params.map((list) => list[0]!.device.index!);
    if (new Set(devices).size !== devices.length) throw invalidValue(call, `each replica needs its own device, got devices ${devices.join(', ')}`);
    this.#runtime = first![0]!.storage(call).runtime!;
    // Non-blocking, as PyTorch's pool streams: the legacy default stream would otherwise serialize them with backward.
    this.#sideStreams = devices.map((d) => this.#runtime.withDevice(d, () => this.#runtime.streamCreate({ nonBlocking: true })));
    // Buckets: parameters in reverse order (gradients arrive roughly so), one dtype each, up to the cap.
    const cap = this.bucketCapMb * 1024 * 1024;
    const buckets: { params: number[]; bytes: number; dtype: string }[] = [];
    for (let i = first!.length - 1; i >= 0; i--) {
      const p = first![i]!;
      const bytes = p.numel() * p.itemsize;
      const last = buckets[buckets.length - 1];
      if (last !== undefined && last.dtype === p.dtype && last.bytes + bytes <= cap) {
        last.params.push(i);
        last.bytes += bytes;
      } else buckets.push({ params: [i], bytes, dtype: p.dtype });
    }
    this.#buckets = buckets.map((b) => ({
      params: b.params,
      pending: b.params.length * replicas.length,
      pendingOf: devices.map(() => b.params.length),
      ready: devices.map((d) => this.#runtime.withDevice(d, () => this.#runtime.eventCreate({ disableTiming: true }))),
      launched: false,
    }));
    const bucketOf = new Array<number>(first!.length);
    this.#buckets.forEach((b, k) => b.params.forEach((i) => (bucketOf[i] = k)));
    this.#bucketOf = bucketOf;
    // Replicas start equal: rank 0's parameters and buffers everywhere.
    this.#broadcast(first!.map((_, i) => this.#params.map((list) => list[i]!)));
    this.#broadcastBuffers();
    this.#params.forEach((list, r) => list.forEach((p, i) => p.registerPostAccumulateGradHook(() => this.#arrived(i, r))));
  }

  /** The streams (one per rank) the gradient all-reduces run on: a profile shows them as their own tracks. */
  get sideStreams(): readonly Stream[] {
    return this.#sideStreams;
  }

  /** How many gradient buckets there are (PyTorch's reducer buckets). */
  get bucketCount(): number {
    return this.#buckets.length;
  }

  #broadcast(groups: readonly Tensor[][]): void {
    for (const group of groups) if (group.length > 1) broadcast(group, { src: 0 });
  }

  #broadcastBuffers(): void {
    const buffers = this.replicas.children().map((m) => m.buffers());
    this.#broadcast(buffers[0]!.map((_, i) => buffers.map((list) => list[i]!)));
  }

  /** Runs each replica on its own arguments: `call([x0], [x1])` gives `[out0, out1]`. */
  forward(...perRank: unknown[][]): unknown[] {
    const call = 'DistributedDataParallel.call';
    const replicas = this.replicas.children();
    if (perRank.length !== replicas.length || !perRank.every(Array.isArray)) throw invalidValue(call, `expected one array of arguments per replica (${replicas.length})`);
    this.#checkPriorIteration(call);
    if (this.broadcastBuffers) this.#broadcastBuffers();
    return replicas.map((m, r) => m.call(...perRank[r]!));
  }

  /** Runs `fn` without averaging gradients: they accumulate on each replica until a backward outside it. */
  noSync<T>(fn: () => T): T {
    const previous = this.#syncing;
    this.#syncing = false;
    try {
      return fn();
    } finally {
      this.#syncing = previous;
    }
  }

  /** A gradient of parameter i arrived on rank r. */
  #arrived(i: number, r: number): void {
    if (!this.#syncing) return;
    const bucket = this.#buckets[this.#bucketOf[i]!]!;
    if (bucket.launched || bucket.pendingOf[r] === 0) throw invalidValue('backward', 'a parameter received a second gradient in one DistributedDataParallel iteration (run each rank\'s backward once per forward, or use noSync)');
    // The rank's part of the bucket is complete at this point of its stream: later backward work there need not be waited for.
    if (--bucket.pendingOf[r]! === 0) {
      const rt = this.#runtime;
      rt.eventRecord(bucket.ready[r]!, rt.getCurrentStream(this.#sideStreams[r]!.device));
    }
    if (--bucket.pending > 0) return;
    this.#launch(bucket);
    if (this.#buckets.every((b) => b.launched)) this.#finish();
  }

  /** All-reduces one bucket's gradients (averaged) on the side streams, after the gradients' streams. */
  #launch(bucket: Bucket): void {
    bucket.launched = true;
    const rt = this.#runtime;
    const flats = this.#params.map((list, r) => {
      const side = this.#sideStreams[r]!;
      rt.streamWaitEvent(side, bucket.ready[r]!);
      return rt.withStream(side, () => noGrad(() => cat(bucket.params.map((i) => list[i]!.grad!.reshape(-1)))));
    });
    allReduce(flats, { op: 'avg', streams: this.#sideStreams });
    this.#params.forEach((list, r) =>
      rt.withStream(this.#sideStreams[r]!, () =>
        noGrad(() => {
          let offset = 0;
          for (const i of bucket.params) {
            const g = list[i]!.grad!;
            g.copy_(flats[r]!.slice(0, offset, offset + g.numel()).view(...g.shape));
            offset += g.numel();
          }
          flats[r]!.dispose();
        }),
      ),
    );
  }

  /** Every bucket is in flight: the devices' current streams wait for the side streams, and the next iteration starts. */
  #finish(): void {
    const rt = this.#runtime;
    for (const side of this.#sideStreams) rt.streamWaitStream(rt.getCurrentStream(side.device), side);
    for (const b of this.#buckets) {
      b.launched = false;
      b.pending = b.params.length * this.#params.length;
      b.pendingOf.fill(b.params.length);
    }
  }

  /** PyTorch's check: a new forward while some gradients of the last backward never arrived. */
  #checkPriorIteration(call: string): void {
    if (this.#buckets.every((b) => !b.launched && b.pending === b.params.length * this.#params.length)) return;
    const missing = this.#buckets.filter((b) => !b.launched).flatMap((b) => b.params);
    throw invalidValue(call, `expected to have finished reduction in the prior iteration before starting a new one: parameters ${missing.join(', ')} (indices into parameters()) received no gradient on every rank`);
  }
}

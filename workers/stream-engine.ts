import { ErrorCode } from '../src/errors/error-code.js';
import { formatMessage } from '../src/errors/errors.js';
import { OpenRegError } from '../src/errors/openreg-error.js';
import { AllocationTable } from '../src/memory/allocation-table.js';
import { sharedClockMs } from '../src/protocol/clock.js';
import { CmdF64, CmdI32, CommandReader, HOST_POOL_SPACE, MAX_INLINE_ARG_WORDS, Op } from '../src/protocol/command.js';
import { ArgumentDecoder, signatureOf } from '../src/protocol/kernel-abi.js';
import {
  DEVICE_STATS_OFFSET,
  DEVICE_STAT_COUNT,
  DeviceStat,
  DeviceWord,
  KERNEL_STARTED_F64,
  MAX_STREAMS,
  StreamState,
  StreamWord,
  eventEpochIndex,
  eventTimeIndex,
  streamWordIndex,
} from '../src/protocol/layout.js';
import { raiseStickyError } from '../src/protocol/sticky-error.js';
import { type ScheduleFuzzOptions, SeededRandom } from '../src/protocol/schedule-fuzz.js';
import { discardPendingCommands, hasCompleted } from '../src/protocol/stream-ring.js';
import { TraceKind, TraceWriter } from '../src/protocol/trace-format.js';
import { wakeMain, wakeMainIfReached, wakeWatchers } from '../src/protocol/wake.js';
import { type DeviceWorkerInit, type DeviceWorkerStats, type LoadedModule, readDeviceStats } from '../src/protocol/worker-protocol.js';
import { KERNEL_INDEX_BITS, MAX_MODULE_EXPORTS } from '../src/protocol/worker-protocol.js';
import { DeviceKernelContext } from './device-kernel-context.js';

/** The consumer side of one stream ring. */
interface StreamCursor {
  index: number;
  priority: number;
  /** Int32 index of the record header. */
  header: number;
  /** The stream's ring, decoded. */
  ring: CommandReader;
  readSlot: number;
  completed: number;
  /** SUBMITTED as last read: re-read only once caught up, so the producer's line is not pulled per command. */
  submitted: number;
}

type Kernel = (...args: unknown[]) => unknown;

/**
 * The opcode table: how each command is traced — its trace kind, and which of its fields
 * names it (kernel id, event slot) and gives its size. Execution switches on the same opcodes.
 */
const TRACED_OPS: readonly ({ kind: TraceKind; name?: number; bytes?: number } | undefined)[] = [];
(TRACED_OPS as unknown[])[Op.KERNEL] = { kind: TraceKind.KERNEL, name: CmdI32.KERNEL_ID };
(TRACED_OPS as unknown[])[Op.TYPED_KERNEL] = { kind: TraceKind.KERNEL, name: CmdI32.KERNEL_ID };
(TRACED_OPS as unknown[])[Op.COPY] = { kind: TraceKind.MEMCPY, bytes: CmdF64.BYTES };
(TRACED_OPS as unknown[])[Op.MEMSET] = { kind: TraceKind.MEMSET, bytes: CmdF64.COUNT };
(TRACED_OPS as unknown[])[Op.HOST_FUNC] = { kind: TraceKind.HOST_FUNCTION };
(TRACED_OPS as unknown[])[Op.RECORD_EVENT] = { kind: TraceKind.EVENT_RECORD, name: CmdI32.EVENT_SLOT };
(TRACED_OPS as unknown[])[Op.WAIT_STREAM] = { kind: TraceKind.WAIT };

/** How long the worker polls its rings before sleeping: back-to-back work needs no doorbell. */
const IDLE_SPIN_MS = 0.1;
/** Longest sleep before the worker turns its event loop once; producers and the control plane ring the doorbell. */
const IDLE_SLEEP_MS = 200;

/**
 * Drains the streams of one device in priority order. Runs on the device worker's
 * thread; yields to the event loop only when the control plane asks or when idle.
 */
export class StreamEngine {
  readonly device: number;
  readonly #control: Int32Array;
  readonly #controls: Int32Array[];
  readonly #runtime: Int32Array;
  readonly #runtimeF64: Float64Array;
  readonly #controlBuffer: SharedArrayBuffer;
  readonly #stats: Float64Array;
  /** Byte views of every space a copy can touch: devices by index, pinned host memory. */
  readonly #heaps: Uint8Array[];
  readonly #hostPool: Uint8Array;
  readonly #ctx: DeviceKernelContext;
  readonly #trace: TraceWriter;
  readonly #controlF64: Float64Array;
  /** Stamp each kernel's start for the host's watchdog (kernelTimeoutMs). */
  readonly #watchdog: boolean;
  readonly #modules: Kernel[][] = [];
  readonly #kernelNames: string[][] = [];
  #streams: StreamCursor[] = [];
  #fuzz: { random: SeededRandom; maxDelayUs: number } | undefined;
  /** Fuzzing: streams whose latest completion is not yet visible to other threads. */
  readonly #deferred = new Set<StreamCursor>();
  readonly #device: number;
  /** One reader per stream record, kept across rescans (streams come and go by the thousand). */
  readonly #readers: CommandReader[] = [];
  #tableGeneration = -1;
  #stopped = false;
  /** Set after a sleep that timed out: an idle device goes back to sleep without spinning. */
  #idle = false;
  readonly #args: unknown[] = [];
  /** An inline typed launch's argument words, copied out of the ring (grown once to the inline maximum). */
  #argWords = new Float64Array(64);
  readonly #decoder = new ArgumentDecoder();

  constructor(init: DeviceWorkerInit) {
    this.device = init.device;
    this.#controls = init.controls.map((b) => new Int32Array(b));
    this.#control = this.#controls[init.device]!;
    const own = (this.#controlBuffer = init.controls[init.device]!);
    this.#stats = new Float64Array(own, DEVICE_STATS_OFFSET, DEVICE_STAT_COUNT);
    this.#runtime = new Int32Array(init.runtimeBlock);
    this.#runtimeF64 = new Float64Array(init.runtimeBlock);
    this.#heaps = init.heaps.map((h) => new Uint8Array(h));
    this.#hostPool = new Uint8Array(init.hostPool);
    const table = new AllocationTable(init.allocationOwner, init.allocationSize, init.allocationFreed);
    this.#trace = new TraceWriter(init.traceBuffer);
    this.#controlF64 = new Float64Array(own);
    this.#watchdog = init.watchdog;
    this.#device = init.device;
    this.setSchedule(init.schedule);
    this.#ctx = new DeviceKernelContext(init.device, init.heaps[init.device]!, table, this.#kernelName);
  }

  /** Schedule fuzzing on (each device its own sequence, fixed by the seed) or off. */
  setSchedule(schedule: ScheduleFuzzOptions | undefined): void {
    this.#publishDeferred();
    this.#fuzz = schedule === undefined ? undefined : { random: new SeededRandom((schedule.seed + Math.imul(this.#device + 1, 0x9e3779b9)) >>> 0), maxDelayUs: schedule.maxDelayUs };
  }

  /** Starts draining; returns at once (the loop re-enters through setImmediate). */
  start(): void {
    this.#loop();
  }

  stop(): void {
    this.#stopped = true;
  }

  async loadModule(moduleId: number, url: string): Promise<LoadedModule> {
    let mod: Record<string, unknown>;
    try {
      mod = (await import(url)) as Record<string, unknown>;
    } catch (error) {
      throw new OpenRegError(ErrorCode.INVALID_VALUE, `loadModule: cannot import ${url} on device ${this.device}: ${(error as Error).message}`, {
        device: this.device,
      });
    }
    return this.installModule(moduleId, mod, url);
  }

  /** Makes a module's function exports launchable as module `moduleId` (the built-ins are installed this way at start). */
  installModule(moduleId: number, mod: Record<string, unknown>, url: string): LoadedModule {
    const names = Object.keys(mod).filter((k) => typeof mod[k] === 'function').sort();
    if (names.length > MAX_MODULE_EXPORTS) {
      throw new OpenRegError(ErrorCode.INVALID_VALUE, `loadModule: ${url} exports ${names.length} functions, at most ${MAX_MODULE_EXPORTS} are supported`);
    }
    this.#modules[moduleId] = names.map((n) => mod[n] as Kernel);
    this.#kernelNames[moduleId] = names;
    return { names, signatures: names.map((n) => signatureOf(mod[n]) ?? null) };
  }

  /** Device reset: every stream's pending work is dropped as if completed. */
  reset(): void {
    // Held-back completions are dropped with the work: publishing them now could move a counter back.
    this.#deferred.clear();
    for (let index = 0; index < MAX_STREAMS; index++) {
      if (Atomics.load(this.#control, streamWordIndex(index, StreamWord.STATE)) !== StreamState.FREE) {
        discardPendingCommands(this.#control, index);
      }
    }
    this.#tableGeneration = -1;
    wakeWatchers(this.#control, this.#controls, this.#runtime);
    // Waits armed on a stream position are woken too: the positions were just skipped to.
    wakeMain(this.#runtime);
  }

  stats(): DeviceWorkerStats {
    return { ...readDeviceStats(this.device, this.#stats), modules: this.#modules.filter(Boolean).length };
  }

  readonly #loop = (): void => {
    const control = this.#control;
    while (!this.#stopped) {
      if (Atomics.load(control, DeviceWord.CONTROL_PENDING) > 0) {
        this.#drain();
        setImmediate(this.#loop);
        return;
      }
      if (this.#drain()) {
        this.#idle = false;
        continue;
      }
      let progressed = false;
      if (!this.#idle) {
        const spinUntil = performance.now() + IDLE_SPIN_MS;
        while (!progressed && performance.now() < spinUntil) progressed = this.#hasSubmissions() && this.#drain();
      }
      if (progressed) continue;
      // Announce the sleep, then look once more: a producer that published after this
      // point sees SLEEPING and rings the doorbell, so no wake-up is lost.
      Atomics.store(control, DeviceWord.SLEEPING, 1);
      const bell = Atomics.load(control, DeviceWord.DOORBELL);
      if (this.#drain()) {
        Atomics.store(control, DeviceWord.SLEEPING, 0);
        continue;
      }
      const woke = Atomics.wait(control, DeviceWord.DOORBELL, bell, IDLE_SLEEP_MS);
      Atomics.store(control, DeviceWord.SLEEPING, 0);
      this.#idle = woke === 'timed-out';
      if (this.#idle) {
        setImmediate(this.#loop);
        return;
      }
    }
  };

  #hasSubmissions(): boolean {
    const control = this.#control;
    for (const s of this.#streams) {
      if (Atomics.load(control, s.header + StreamWord.SUBMITTED) !== s.completed) return true;
    }
    return Atomics.load(control, DeviceWord.STREAM_TABLE_GEN) !== this.#tableGeneration;
  }

  /** Runs ready commands, always serving the highest-priority ready stream next. */
  #drain(): boolean {
    if (this.#fuzz !== undefined) return this.#drainFuzzed(this.#fuzz);
    const control = this.#control;
    let progressed = false;
    next: for (;;) {
      if (Atomics.load(control, DeviceWord.STREAM_TABLE_GEN) !== this.#tableGeneration) this.#rescan();
      const streams = this.#streams;
      for (let i = 0; i < streams.length; i++) {
        const s = streams[i]!;
        if (s.submitted === s.completed && (s.submitted = Atomics.load(control, s.header + StreamWord.SUBMITTED)) === s.completed) continue;
        if (Atomics.load(control, DeviceWord.TRACING) !== 0 ? this.#executeTraced(s) : this.#execute(s)) {
          this.#publish(s);
          progressed = true;
          continue next;
        }
      }
      return progressed;
    }
  }

  /**
   * Schedule fuzzing: before each command, maybe pause (so the host can enqueue more), then run
   * a ready stream chosen at random. Any ready stream may run next under CUDA's rules; stream
   * order, waits and host functions still hold, since only head commands that can run do.
   */
  #drainFuzzed(fuzz: { random: SeededRandom; maxDelayUs: number }): boolean {
    const control = this.#control;
    let progressed = false;
    for (;;) {
      if (Atomics.load(control, DeviceWord.STREAM_TABLE_GEN) !== this.#tableGeneration) {
        this.#publishDeferred();
        this.#rescan();
      }
      // Completions held back become visible at random moments.
      for (const s of this.#deferred) {
        if (fuzz.random.next() < 0.5) {
          this.#deferred.delete(s);
          this.#publish(s);
        }
      }
      const ready = this.#streams.filter((s) => s.submitted !== s.completed || (s.submitted = Atomics.load(control, s.header + StreamWord.SUBMITTED)) !== s.completed);
      if (ready.length === 0) {
        // Nothing left to run: everything done is made visible before the worker may sleep.
        this.#publishDeferred();
        return progressed;
      }
      if (fuzz.maxDelayUs > 0 && fuzz.random.next() < 0.5) {
        const until = performance.now() + (fuzz.random.next() * fuzz.maxDelayUs) / 1000;
        while (performance.now() < until);
        continue;
      }
      let ran = false;
      while (ready.length > 0) {
        const [s] = ready.splice(fuzz.random.below(ready.length), 1) as [StreamCursor];
        if (Atomics.load(control, DeviceWord.TRACING) !== 0 ? this.#executeTraced(s) : this.#execute(s)) {
          // Sometimes a completion is held back: a GPU may report it late.
          if (fuzz.random.next() < 0.25) this.#deferred.add(s);
          else {
            this.#deferred.delete(s);
            this.#publish(s);
          }
          progressed = ran = true;
          break;
        }
      }
      if (!ran) {
        this.#publishDeferred();
        return progressed;
      }
    }
  }

  #publishDeferred(): void {
    for (const s of this.#deferred) this.#publish(s);
    this.#deferred.clear();
  }

  #rescan(): void {
    const control = this.#control;
    this.#tableGeneration = Atomics.load(control, DeviceWord.STREAM_TABLE_GEN);
    const streams: StreamCursor[] = [];
    for (let index = 0; index < MAX_STREAMS; index++) {
      const header = streamWordIndex(index, 0);
      if (Atomics.load(control, header + StreamWord.STATE) === StreamState.FREE) continue;
      streams.push({
        index,
        priority: Atomics.load(control, header + StreamWord.PRIORITY),
        header,
        ring: (this.#readers[index] ??= new CommandReader(this.#controlBuffer, index)),
        readSlot: Atomics.load(control, header + StreamWord.READ_SLOT),
        completed: Atomics.load(control, header + StreamWord.COMPLETED),
        submitted: Atomics.load(control, header + StreamWord.COMPLETED),
      });
    }
    // Lower number = higher priority (CUDA); equal priorities keep creation order.
    streams.sort((a, b) => a.priority - b.priority || a.index - b.index);
    this.#streams = streams;
  }

  /** Executes the head command of `s` (the caller publishes its completion); false if it must wait. */
  #execute(s: StreamCursor): boolean {
    const ring = s.ring;
    const slot = s.readSlot;
    const seq = (s.completed + 1) | 0;
    const failed = Atomics.load(this.#control, DeviceWord.STICKY_ERROR) !== 0;
    switch (ring.op(slot)) {
      case Op.KERNEL:
        if (!failed) this.#runKernel(s, slot, false);
        break;
      case Op.TYPED_KERNEL:
        if (!failed) this.#runKernel(s, slot, true);
        break;
      case Op.COPY:
        if (!failed) this.#copy(ring, slot);
        break;
      case Op.MEMSET:
        if (!failed) this.#memset(ring, slot);
        break;
      case Op.RECORD_EVENT:
        this.#recordEvent(ring, slot);
        break;
      case Op.WAIT_STREAM:
        if (!failed && !this.#waitSatisfied(ring, slot)) return false;
        break;
      case Op.HOST_FUNC:
        if (!failed && !this.#hostFunctionDone(s, seq)) return false;
        break;
      default:
        break;
    }
    s.readSlot = (slot + ring.slots(slot)) | 0;
    s.completed = seq;
    return true;
  }

  /**
   * Publishes the command #execute just finished: only now may other threads see it
   * complete (so a trace record written before this is never missed).
   */
  #publish(s: StreamCursor): void {
    const i32 = this.#control;
    // READ_SLOT is for this thread's rescans and resets (a plain store); the producer derives
    // free space from COMPLETED, whose seq-cst store also publishes READ_SLOT.
    i32[s.header + StreamWord.READ_SLOT] = s.readSlot;
    // Counted before the completion is published: whoever sees the completion sees the count.
    this.#stats[DeviceStat.COMMANDS]!++;
    Atomics.store(i32, s.header + StreamWord.COMPLETED, s.completed);
    if (Atomics.load(this.#control, DeviceWord.WATCHERS) !== 0) wakeWatchers(this.#control, this.#controls, this.#runtime);
    if (Atomics.load(i32, s.header + StreamWord.WAKE_MAIN_ARMED) !== 0) wakeMainIfReached(i32, s.header, s.completed, this.#runtime);
  }

  /** #execute, then a trace record described by the opcode table (profiling only; kept apart so #execute stays small). */
  #executeTraced(s: StreamCursor): boolean {
    const ring = s.ring;
    const slot = s.readSlot;
    const traced = TRACED_OPS[ring.op(slot)];
    const correlation = ring.correlation(slot);
    const name = traced?.name === undefined ? 0 : ring.word(slot, traced.name);
    const bytes = traced?.bytes === undefined ? 0 : ring.number(slot, traced.bytes);
    const started = sharedClockMs();
    if (!this.#execute(s)) return false;
    if (traced !== undefined) this.#trace.append(traced.kind, s.index, started, sharedClockMs(), bytes, correlation, name);
    return true;
  }

  /** A KERNEL or TYPED_KERNEL command: the call, with what a kernel's failure needs to be reported. */
  #runKernel(s: StreamCursor, slot: number, typed: boolean): void {
    const ring = s.ring;
    const id = ring.word(slot, CmdI32.KERNEL_ID);
    const fn = this.#modules[id >>> KERNEL_INDEX_BITS]?.[id & (MAX_MODULE_EXPORTS - 1)];
    this.#ctx.begin(id, ring.word(slot, CmdI32.FREE_EPOCH));
    this.#stats[DeviceStat.KERNELS]!++;
    if (this.#watchdog) this.#controlF64[KERNEL_STARTED_F64] = sharedClockMs();
    try {
      if (fn === undefined) throw new Error('kernel is not loaded on this device');
      const result = typed ? this.#callTyped(fn, ring, slot) : this.#callPlain(fn, ring, slot);
      if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
        throw new Error('kernels must be synchronous functions; this one returned a promise');
      }
    } catch (error) {
      this.#fail(s, error);
    }
    if (this.#watchdog) this.#controlF64[KERNEL_STARTED_F64] = 0;
  }

  #callPlain(fn: Kernel, ring: CommandReader, slot: number): unknown {
    const ctx = this.#ctx;
    const argc = ring.argc(slot);
    // Direct calls for the common arities: no argument array per launch.
    switch (argc) {
      case 0: return fn(ctx);
      case 1: return fn(ctx, ring.arg(slot, 0));
      case 2: return fn(ctx, ring.arg(slot, 0), ring.arg(slot, 1));
      case 3: return fn(ctx, ring.arg(slot, 0), ring.arg(slot, 1), ring.arg(slot, 2));
      case 4: return fn(ctx, ring.arg(slot, 0), ring.arg(slot, 1), ring.arg(slot, 2), ring.arg(slot, 3));
      default: {
        const args = this.#args;
        args.length = argc + 1;
        args[0] = ctx;
        for (let k = 0; k < argc; k++) args[k + 1] = ring.arg(slot, k);
        const result = fn.apply(undefined, args);
        args.length = 0;
        return result;
      }
    }
  }

  /** A typed kernel: its argument block decoded (every tensor's reach bounds-checked once), then the call. */
  #callTyped(fn: Kernel, ring: CommandReader, slot: number): unknown {
    const signature = signatureOf(fn);
    if (signature === undefined) throw new Error('launched with a typed argument block, but the kernel has no signature');
    const ctx = this.#ctx;
    const count = ring.argc(slot);
    let words: Float64Array;
    if (ring.word(slot, CmdI32.ARG_BLOCK_INDIRECT) === 1) words = ctx.argumentBlock(ring.number(slot, CmdF64.ARGS), count);
    else {
      if (this.#argWords.length < count) this.#argWords = new Float64Array(MAX_INLINE_ARG_WORDS);
      ring.copyArgWords(slot, count, (words = this.#argWords));
    }
    return fn(ctx, this.#decoder.decode(signature, words, count, ctx.bindOperand));
  }

  /** Name of kernel `id`, for messages. */
  readonly #kernelName = (id: number): string =>
    this.#kernelNames[id >>> KERNEL_INDEX_BITS]?.[id & (MAX_MODULE_EXPORTS - 1)] ?? `#${id}`;

  #fail(s: StreamCursor, error: unknown): void {
    const kernel = this.#kernelName(this.#ctx.kernelId);
    if (error instanceof OpenRegError && error.code === ErrorCode.ILLEGAL_ADDRESS) {
      raiseStickyError(this.#control, ErrorCode.ILLEGAL_ADDRESS, formatMessage('illegalAddress', { stream: s.index, problem: error.message }));
    } else {
      const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      raiseStickyError(this.#control, ErrorCode.LAUNCH_FAILURE, formatMessage('kernelThrew', { kernel, stream: s.index, error: what }));
    }
  }

  #space(space: number): Uint8Array {
    return space === HOST_POOL_SPACE ? this.#hostPool : this.#heaps[space]!;
  }

  #copy(ring: CommandReader, slot: number): void {
    const src = ring.number(slot, CmdF64.SRC_OFFSET);
    const dst = ring.number(slot, CmdF64.DST_OFFSET);
    const bytes = ring.number(slot, CmdF64.BYTES);
    const srcSpace = ring.word(slot, CmdI32.SRC_SPACE);
    const dstSpace = ring.word(slot, CmdI32.DST_SPACE);
    if (srcSpace === dstSpace) this.#space(dstSpace).copyWithin(dst, src, src + bytes);
    else this.#space(dstSpace).set(this.#space(srcSpace).subarray(src, src + bytes), dst);
    this.#stats[DeviceStat.COPIES]!++;
    this.#stats[DeviceStat.BYTES_COPIED]! += bytes;
  }

  #memset(ring: CommandReader, slot: number): void {
    const offset = ring.number(slot, CmdF64.OFFSET);
    const count = ring.number(slot, CmdF64.COUNT);
    this.#heaps[ring.word(slot, CmdI32.MEMSET_SPACE)]!.fill(ring.word(slot, CmdI32.VALUE), offset, offset + count);
    this.#stats[DeviceStat.MEMSETS]!++;
  }

  #recordEvent(ring: CommandReader, slot: number): void {
    const eventSlot = ring.word(slot, CmdI32.EVENT_SLOT);
    const epoch = ring.word(slot, CmdI32.EVENT_EPOCH);
    const epochIndex = eventEpochIndex(eventSlot);
    // Records of one event complete in order on one device; never let an older one win.
    if (((epoch - Atomics.load(this.#runtime, epochIndex)) | 0) <= 0) return;
    if (ring.word(slot, CmdI32.EVENT_TIMING) !== 0) this.#runtimeF64[eventTimeIndex(eventSlot)] = sharedClockMs();
    Atomics.store(this.#runtime, epochIndex, epoch);
    this.#stats[DeviceStat.EVENTS_RECORDED]!++;
  }

  #waitSatisfied(ring: CommandReader, slot: number): boolean {
    const device = ring.word(slot, CmdI32.WAIT_DEVICE);
    const completedAt = streamWordIndex(ring.word(slot, CmdI32.WAIT_STREAM), StreamWord.COMPLETED);
    const seq = ring.word(slot, CmdI32.WAIT_SEQ);
    const target = this.#controls[device]!;
    if (hasCompleted(Atomics.load(target, completedAt), seq)) return true;
    if (device === this.device) return false;
    // Ask the other device to ring our doorbell when it completes work, then look again.
    Atomics.or(target, DeviceWord.WATCHERS, 1 << this.device);
    return hasCompleted(Atomics.load(target, completedAt), seq);
  }

  #hostFunctionDone(s: StreamCursor, seq: number): boolean {
    const control = this.#control;
    if (Atomics.load(control, s.header + StreamWord.HOST_DONE) === seq) {
      this.#stats[DeviceStat.HOST_FUNCS]!++;
      return true;
    }
    if (Atomics.load(control, s.header + StreamWord.HOST_PENDING) !== seq) {
      Atomics.store(control, s.header + StreamWord.HOST_PENDING, seq);
      wakeMain(this.#runtime);
    }
    return false;
  }
}

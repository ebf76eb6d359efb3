import { ErrorCode } from '../src/errors/error-code.js';
import { OpenRegError } from '../src/errors/openreg-error.js';
import { AllocationTable } from '../src/memory/allocation-table.js';
import { sharedClockMs } from '../src/protocol/clock.js';
import { ArgTag, CmdF64, CmdI32, HOST_POOL_SPACE, OP_MASK, Op, SLOTS_SHIFT } from '../src/protocol/command.js';
import {
  DEVICE_STATS_OFFSET,
  DEVICE_STAT_COUNT,
  DeviceStat,
  DeviceWord,
  MAX_STREAMS,
  RING_MASK,
  StreamState,
  StreamWord,
  TRACE_CAPACITY,
  TRACE_HEADER_BYTES,
  TRACE_RECORD_F64,
  TraceField,
  TraceKind,
  TraceWord,
  eventEpochIndex,
  eventTimeIndex,
  ringF64Base,
  ringI32Base,
  streamWordIndex,
} from '../src/protocol/layout.js';
import { discardPendingCommands } from '../src/protocol/stream-ring.js';
import { raiseStickyError } from '../src/protocol/sticky-error.js';
import { wakeMain, wakeWatchers } from '../src/protocol/wake.js';
import type { DeviceWorkerInit, DeviceWorkerStats } from '../src/protocol/worker-protocol.js';
import { KERNEL_INDEX_BITS, MAX_MODULE_EXPORTS } from '../src/protocol/worker-protocol.js';
import { DeviceKernelContext } from './device-kernel-context.js';

/** The consumer side of one stream ring. */
interface StreamCursor {
  index: number;
  priority: number;
  /** Int32 index of the record header. */
  header: number;
  ringI32: number;
  ringF64: number;
  readSlot: number;
  completed: number;
  /** SUBMITTED as last read: re-read only once caught up, so the producer's line is not pulled per command. */
  submitted: number;
}

type Kernel = (...args: unknown[]) => unknown;

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
  readonly #ringI32: Int32Array;
  readonly #ringF64: Float64Array;
  readonly #ringI64: BigInt64Array;
  readonly #ringU64: BigUint64Array;
  readonly #stats: Float64Array;
  /** Byte views of every space a copy can touch: devices by index, pinned host memory. */
  readonly #heaps: Uint8Array[];
  readonly #hostPool: Uint8Array;
  readonly #ctx: DeviceKernelContext;
  readonly #traceWords: Int32Array;
  readonly #traceRecords: Float64Array;
  readonly #modules: Kernel[][] = [];
  readonly #kernelNames: string[][] = [];
  #streams: StreamCursor[] = [];
  #tableGeneration = -1;
  #stopped = false;
  /** Set after a sleep that timed out: an idle device goes back to sleep without spinning. */
  #idle = false;
  readonly #args: unknown[] = [];

  constructor(init: DeviceWorkerInit) {
    this.device = init.device;
    this.#controls = init.controls.map((b) => new Int32Array(b));
    this.#control = this.#controls[init.device]!;
    const own = init.controls[init.device]!;
    this.#ringI32 = this.#control;
    this.#ringF64 = new Float64Array(own);
    this.#ringI64 = new BigInt64Array(own);
    this.#ringU64 = new BigUint64Array(own);
    this.#stats = new Float64Array(own, DEVICE_STATS_OFFSET, DEVICE_STAT_COUNT);
    this.#runtime = new Int32Array(init.runtimeBlock);
    this.#runtimeF64 = new Float64Array(init.runtimeBlock);
    this.#heaps = init.heaps.map((h) => new Uint8Array(h));
    this.#hostPool = new Uint8Array(init.hostPool);
    const table = new AllocationTable(init.allocationOwner, init.allocationSize);
    this.#traceWords = new Int32Array(init.traceBuffer, 0, TRACE_HEADER_BYTES / 4);
    this.#traceRecords = new Float64Array(init.traceBuffer, TRACE_HEADER_BYTES);
    this.#ctx = new DeviceKernelContext(init.device, init.heaps[init.device]!, table, this.#kernelName);
  }

  /** Starts draining; returns at once (the loop re-enters through setImmediate). */
  start(): void {
    this.#loop();
  }

  stop(): void {
    this.#stopped = true;
  }

  async loadModule(moduleId: number, url: string): Promise<string[]> {
    let mod: Record<string, unknown>;
    try {
      mod = (await import(url)) as Record<string, unknown>;
    } catch (error) {
      throw new OpenRegError(ErrorCode.INVALID_VALUE, `loadModule: cannot import ${url} on device ${this.device}: ${(error as Error).message}`, {
        device: this.device,
      });
    }
    const names = Object.keys(mod).filter((k) => typeof mod[k] === 'function').sort();
    if (names.length > MAX_MODULE_EXPORTS) {
      throw new OpenRegError(ErrorCode.INVALID_VALUE, `loadModule: ${url} exports ${names.length} functions, at most ${MAX_MODULE_EXPORTS} are supported`);
    }
    this.#modules[moduleId] = names.map((n) => mod[n] as Kernel);
    this.#kernelNames[moduleId] = names;
    return names;
  }

  /** Device reset: every stream's pending work is dropped as if completed. */
  reset(): void {
    for (let index = 0; index < MAX_STREAMS; index++) {
      if (Atomics.load(this.#control, streamWordIndex(index, StreamWord.STATE)) !== StreamState.FREE) {
        discardPendingCommands(this.#control, index);
      }
    }
    this.#tableGeneration = -1;
    wakeWatchers(this.#control, this.#controls, this.#runtime);
  }

  stats(): DeviceWorkerStats {
    const s = this.#stats;
    return {
      device: this.device,
      kernels: s[DeviceStat.KERNELS]!,
      copies: s[DeviceStat.COPIES]!,
      bytesCopied: s[DeviceStat.BYTES_COPIED]!,
      memsets: s[DeviceStat.MEMSETS]!,
      hostFunctions: s[DeviceStat.HOST_FUNCS]!,
      eventsRecorded: s[DeviceStat.EVENTS_RECORDED]!,
      commands: s[DeviceStat.COMMANDS]!,
      modules: this.#modules.filter(Boolean).length,
    };
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
        ringI32: ringI32Base(index),
        ringF64: ringF64Base(index),
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
    const i32 = this.#ringI32;
    const slot = s.readSlot;
    const at = s.ringI32 + ((slot & RING_MASK) << 4);
    const header = i32[at]!;
    const seq = (s.completed + 1) | 0;
    const failed = Atomics.load(this.#control, DeviceWord.STICKY_ERROR) !== 0;
    switch (header & OP_MASK) {
      case Op.KERNEL:
        if (!failed) this.#runKernel(s, at, slot);
        break;
      case Op.COPY:
        if (!failed) this.#copy(s, at, slot);
        break;
      case Op.MEMSET:
        if (!failed) this.#memset(s, at, slot);
        break;
      case Op.RECORD_EVENT:
        this.#recordEvent(at);
        break;
      case Op.WAIT_STREAM:
        if (!failed && !this.#waitSatisfied(at)) return false;
        break;
      case Op.HOST_FUNC:
        if (!failed && !this.#hostFunctionDone(s, seq)) return false;
        break;
      default:
        break;
    }
    s.readSlot = (slot + ((header >>> SLOTS_SHIFT) & 0xff)) | 0;
    s.completed = seq;
    return true;
  }

  /**
   * Publishes the command #execute just finished: only now may other threads see it
   * complete (so a trace record written before this is never missed).
   */
  #publish(s: StreamCursor): void {
    const i32 = this.#ringI32;
    // READ_SLOT is for this thread's rescans and resets (a plain store); the producer derives
    // free space from COMPLETED, whose seq-cst store also publishes READ_SLOT.
    i32[s.header + StreamWord.READ_SLOT] = s.readSlot;
    Atomics.store(i32, s.header + StreamWord.COMPLETED, s.completed);
    this.#stats[DeviceStat.COMMANDS]!++;
    if (Atomics.load(this.#control, DeviceWord.WATCHERS) !== 0) wakeWatchers(this.#control, this.#controls, this.#runtime);
  }

  /** #execute, then a trace record for the command if it ran (profiling only; kept apart so #execute stays small). */
  #executeTraced(s: StreamCursor): boolean {
    const slot = s.readSlot;
    const at = s.ringI32 + ((slot & RING_MASK) << 4);
    const op = this.#ringI32[at]! & OP_MASK;
    const started = sharedClockMs();
    if (!this.#execute(s)) return false;
    this.#trace(s, at, slot, op, started);
    return true;
  }

  /** Appends a trace record for the command just executed (profiling only). */
  #trace(s: StreamCursor, at: number, slot: number, op: number, started: number): void {
    const header = this.#traceWords;
    const count = header[TraceWord.COUNT]!;
    if (count >= TRACE_CAPACITY) {
      header[TraceWord.DROPPED]!++;
      return;
    }
    let kind: number;
    let bytes = 0;
    let name = 0;
    switch (op) {
      case Op.KERNEL:
        kind = TraceKind.KERNEL;
        name = this.#ringI32[at + CmdI32.KERNEL_ID]!;
        break;
      case Op.COPY:
        kind = TraceKind.MEMCPY;
        bytes = this.#ringF64[this.#f64Index(s, slot, CmdF64.BYTES)]!;
        break;
      case Op.MEMSET:
        kind = TraceKind.MEMSET;
        bytes = this.#ringF64[this.#f64Index(s, slot, CmdF64.COUNT)]!;
        break;
      case Op.HOST_FUNC:
        kind = TraceKind.HOST_FUNCTION;
        break;
      case Op.RECORD_EVENT:
        kind = TraceKind.EVENT_RECORD;
        name = this.#ringI32[at + CmdI32.EVENT_SLOT]!;
        break;
      case Op.WAIT_STREAM:
        kind = TraceKind.WAIT;
        break;
      default:
        return;
    }
    const r = this.#traceRecords;
    const base = count * TRACE_RECORD_F64;
    r[base + TraceField.KIND] = kind;
    r[base + TraceField.STREAM] = s.index;
    r[base + TraceField.START] = started;
    r[base + TraceField.END] = sharedClockMs();
    r[base + TraceField.BYTES] = bytes;
    r[base + TraceField.CORRELATION] = this.#ringI32[at + CmdI32.CORRELATION]!;
    r[base + TraceField.NAME] = name;
    Atomics.store(header, TraceWord.COUNT, count + 1);
  }

  #f64Index(s: StreamCursor, slot: number, word: number): number {
    return s.ringF64 + ((((slot + (word >>> 3)) & RING_MASK) << 3) | (word & 7));
  }

  #readArg(s: StreamCursor, at: number, slot: number, k: number): unknown {
    const tag = (this.#ringI32[at + CmdI32.ARG_TAGS + (k >>> 4)]! >>> ((k & 15) << 1)) & 3;
    const i = this.#f64Index(s, slot, CmdF64.ARGS + k);
    switch (tag) {
      case ArgTag.NUMBER:
        return this.#ringF64[i];
      case ArgTag.BIGINT:
        return this.#ringI64[i];
      case ArgTag.BOOLEAN:
        return this.#ringF64[i] !== 0;
      default:
        return this.#ringU64[i];
    }
  }

  #runKernel(s: StreamCursor, at: number, slot: number): void {
    const i32 = this.#ringI32;
    const argc = i32[at + CmdI32.ARGC]!;
    const id = i32[at + CmdI32.KERNEL_ID]!;
    const moduleId = id >>> KERNEL_INDEX_BITS;
    const exportIndex = id & (MAX_MODULE_EXPORTS - 1);
    const fn = this.#modules[moduleId]?.[exportIndex];
    this.#ctx.kernelId = id;
    const ctx = this.#ctx;
    this.#stats[DeviceStat.KERNELS]!++;
    try {
      if (fn === undefined) throw new Error('kernel is not loaded on this device');
      let result: unknown;
      // Direct calls for the common arities: no argument array per launch.
      switch (argc) {
        case 0: result = fn(ctx); break;
        case 1: result = fn(ctx, this.#readArg(s, at, slot, 0)); break;
        case 2: result = fn(ctx, this.#readArg(s, at, slot, 0), this.#readArg(s, at, slot, 1)); break;
        case 3: result = fn(ctx, this.#readArg(s, at, slot, 0), this.#readArg(s, at, slot, 1), this.#readArg(s, at, slot, 2)); break;
        case 4:
          result = fn(ctx, this.#readArg(s, at, slot, 0), this.#readArg(s, at, slot, 1), this.#readArg(s, at, slot, 2), this.#readArg(s, at, slot, 3));
          break;
        default: {
          const args = this.#args;
          args.length = argc + 1;
          args[0] = ctx;
          for (let k = 0; k < argc; k++) args[k + 1] = this.#readArg(s, at, slot, k);
          result = fn.apply(undefined, args);
          args.length = 0;
        }
      }
      if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
        throw new Error('kernels must be synchronous functions; this one returned a promise');
      }
    } catch (error) {
      this.#fail(s, error);
    }
  }

  /** Name of kernel `id`, for messages. */
  readonly #kernelName = (id: number): string =>
    this.#kernelNames[id >>> KERNEL_INDEX_BITS]?.[id & (MAX_MODULE_EXPORTS - 1)] ?? `#${id}`;

  #fail(s: StreamCursor, error: unknown): void {
    const name = this.#kernelName(this.#ctx.kernelId);
    if (error instanceof OpenRegError && error.code === ErrorCode.ILLEGAL_ADDRESS) {
      raiseStickyError(this.#control, ErrorCode.ILLEGAL_ADDRESS, `illegal address on stream ${s.index}: ${error.message}`);
    } else {
      const what = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      raiseStickyError(this.#control, ErrorCode.LAUNCH_FAILURE, `kernel ${name} on stream ${s.index} threw ${what}`);
    }
  }

  #space(space: number): Uint8Array {
    return space === HOST_POOL_SPACE ? this.#hostPool : this.#heaps[space]!;
  }

  #copy(s: StreamCursor, at: number, slot: number): void {
    const f64 = this.#ringF64;
    const srcSpace = this.#ringI32[at + CmdI32.SRC_SPACE]!;
    const dstSpace = this.#ringI32[at + CmdI32.DST_SPACE]!;
    const src = f64[this.#f64Index(s, slot, CmdF64.SRC_OFFSET)]!;
    const dst = f64[this.#f64Index(s, slot, CmdF64.DST_OFFSET)]!;
    const bytes = f64[this.#f64Index(s, slot, CmdF64.BYTES)]!;
    if (srcSpace === dstSpace) this.#space(dstSpace).copyWithin(dst, src, src + bytes);
    else this.#space(dstSpace).set(this.#space(srcSpace).subarray(src, src + bytes), dst);
    this.#stats[DeviceStat.COPIES]!++;
    this.#stats[DeviceStat.BYTES_COPIED]! += bytes;
  }

  #memset(s: StreamCursor, at: number, slot: number): void {
    const offset = this.#ringF64[this.#f64Index(s, slot, CmdF64.OFFSET)]!;
    const count = this.#ringF64[this.#f64Index(s, slot, CmdF64.COUNT)]!;
    this.#heaps[this.#ringI32[at + CmdI32.MEMSET_SPACE]!]!.fill(this.#ringI32[at + CmdI32.VALUE]!, offset, offset + count);
    this.#stats[DeviceStat.MEMSETS]!++;
  }

  #recordEvent(at: number): void {
    const slot = this.#ringI32[at + CmdI32.EVENT_SLOT]!;
    const epoch = this.#ringI32[at + CmdI32.EVENT_EPOCH]!;
    const epochIndex = eventEpochIndex(slot);
    // Records of one event complete in order on one device; never let an older one win.
    if (((epoch - Atomics.load(this.#runtime, epochIndex)) | 0) <= 0) return;
    if (this.#ringI32[at + CmdI32.EVENT_TIMING] !== 0) this.#runtimeF64[eventTimeIndex(slot)] = sharedClockMs();
    Atomics.store(this.#runtime, epochIndex, epoch);
    this.#stats[DeviceStat.EVENTS_RECORDED]!++;
  }

  #waitSatisfied(at: number): boolean {
    const i32 = this.#ringI32;
    const device = i32[at + CmdI32.WAIT_DEVICE]!;
    const completedAt = streamWordIndex(i32[at + CmdI32.WAIT_STREAM]!, StreamWord.COMPLETED);
    const seq = i32[at + CmdI32.WAIT_SEQ]!;
    const target = this.#controls[device]!;
    if (((Atomics.load(target, completedAt) - seq) | 0) >= 0) return true;
    if (device === this.device) return false;
    // Ask the other device to ring our doorbell when it completes work, then look again.
    Atomics.or(target, DeviceWord.WATCHERS, 1 << this.device);
    return ((Atomics.load(target, completedAt) - seq) | 0) >= 0;
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

import { invalidValue, openRegError } from '../../errors/errors.js';
import type { OpenRegError } from '../../errors/openreg-error.js';
import { requireOneOf, requireArity } from '../../errors/validate.js';
import type { KernelArg } from '../../protocol/command.js';
import { deviceOfPointer } from '../../protocol/pointer.js';
import type { Event, Stream } from '../../runtime/handles.js';
import type { RuntimeEvents } from '../../runtime/observer.js';
import { sanitizerOptions } from '../../runtime/options.js';
import type { IntegrationContext } from '../../runtime/runtime-api.js';
import { type Access, type Allocation, AllocationMap } from './allocation-map.js';
import { type Trace, capture, format } from './call-site.js';
import { VectorClock } from './vector-clock.js';

export interface SanitizerOptions {
  /** `throw`: the offending call throws ERR_DATA_RACE; `collect`: reports gather and the next synchronization throws them. @default 'throw' */
  mode?: 'throw' | 'collect';
  /**
   * Capture the call site of every access and allocation (a stack trace each, ~10 µs), so a
   * report names the earlier access's site and the allocation's too. Without it a report
   * still names the site of the access that raced. @default false
   */
  stacks?: boolean;
}

/** One access a report names: which stream, which command, which call, where in the user's code. */
export interface AccessSite {
  stream: string;
  seq: number;
  call: string;
  write: boolean;
  /** Bytes [start, end) of device memory. */
  start: number;
  end: number;
  site: string;
}

export interface RaceReport {
  /** `race`: unordered accesses, one a write; `free`: a free while another stream may still use the memory; `use-after-free`. */
  kind: 'race' | 'free' | 'use-after-free';
  device: number;
  access: AccessSite;
  other: AccessSite | undefined;
  /** Where the memory was allocated (undefined for use after free of unknown memory). */
  allocation: { ptr: number; size: number; site: string } | undefined;
  message: string;
}

function siteOf(a: Access): AccessSite {
  return { stream: String(a.stream), seq: a.seq, call: a.call, write: a.write, start: a.start, end: a.end, site: format(a.trace) };
}

/** Calls that return only when their command is done: the host is ordered after it. The Promise forms count once awaited, which is how they are used. */
const HOST_SYNCHRONOUS = new Set(['memcpySync', 'memsetSync', 'memcpy', 'memset']);
/** Queries that saw the work done: they order the host as a synchronization does, but are polls, so they do not throw collected reports. */
const QUERIES = new Set(['streamQuery', 'eventQuery']);

/**
 * The stream sanitizer (CUDA Stream Sanitizer's model, extended): a vector clock per
 * stream (event records snapshot it, waits and host synchronizations merge it) and the
 * byte ranges every command reads and writes. Two accesses to overlapping bytes, one a
 * write, with neither ordered before the other, are a data race; so are a free (or a
 * caching-allocator release) while another stream may still use the memory, and an access
 * to freed memory. It sees the runtime through the observer channel.
 */
export class StreamSanitizer {
  readonly #ctx: IntegrationContext;
  #unsubscribe: (() => void) | undefined;
  #mode: 'throw' | 'collect' = 'throw';
  #stacks = false;
  readonly #clocks = new Map<Stream, VectorClock>();
  #host = new VectorClock();
  readonly #events = new Map<Event, VectorClock>();
  /** The clock of each observed host function's stream at its position (by its hostFunction event): code inside it is ordered after that. */
  #hostFunctions = new WeakMap<RuntimeEvents['hostFunction'], VectorClock>();
  readonly #allocations: AllocationMap[] = [];
  /** Pinned host memory, by byte offset in the pinned pool: async copies write and read it too. */
  #pinned = new AllocationMap();
  /** Per device: byte ranges freed since the sanitizer started (an access there is a use after free). */
  readonly #freed: [number, number][][] = [];
  readonly #reports: RaceReport[] = [];
  /** Reports not yet thrown by a synchronization (collect mode). */
  #pending = 0;

  /** @internal use rt.sanitizer */
  constructor(ctx: IntegrationContext) {
    this.#ctx = ctx;
  }

  get enabled(): boolean {
    return this.#unsubscribe !== undefined;
  }

  get mode(): 'throw' | 'collect' {
    return this.#mode;
  }

  /** Starts checking every command from now on (memory allocated before is adopted when first used). */
  enable(options?: SanitizerOptions): void {
    requireArity('sanitizer.enable', arguments, 1);
    const call = 'sanitizer.enable';
    this.#ctx.open(call);
    ({ mode: this.#mode, stacks: this.#stacks } = sanitizerOptions(call, options));
    if (this.#unsubscribe !== undefined) return;
    this.#unsubscribe = this.#ctx.observer.subscribe(
      {
        allocation: (e) => this.#allocate(e.device, e.ptr, e.size),
        hostAllocation: (e) => this.#pinned.add({ ptr: e.view.byteOffset, size: e.size, trace: this.#trace(), accesses: [] }),
        hostFree: (e) => void this.#pinned.remove(e.view.byteOffset),
        cachingAllocation: (e) => this.#allocate(e.device, e.ptr, e.size),
        free: (e) => this.#free(e.device, e.ptr, undefined, [], e.call),
        cachingFree: (e) => this.#free(e.device, e.ptr, e.stream, e.streamUses, e.call),
        eventRecord: (e) => this.#events.set(e.event, this.#clockAt(e.stream, e.seq).copy()),
        streamWait: (e) => this.#wait(e),
        synchronized: (e) => this.#synchronized(e),
        copy: (e) => this.#copy(e),
        hostFunction: (e) => this.#hostFunctions.set(e, this.#clockAt(e.stream, e.seq).copy()),
        memset: (e) => {
          this.#access(e.device, e.stream, e.seq, e.call, [[e.ptr, e.bytes]], true);
          if (HOST_SYNCHRONOUS.has(e.call)) this.#host.merge(this.#clockAt(e.stream, e.seq));
        },
        kernelLaunch: (e) => this.#launch(e),
        deviceReset: (e) => {
          this.#allocations[e.device] = new AllocationMap();
          this.#freed[e.device] = [];
        },
      },
      { strict: true },
      call,
    );
  }

  /** Stops checking and forgets what it knew; `enable` starts afresh, adopting memory allocated meanwhile. */
  disable(): void {
    requireArity('sanitizer.disable', arguments, 0);
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    // Frees, reuse and synchronizations while off go unseen: what it knew would be stale (false reports).
    this.#clocks.clear();
    this.#host = new VectorClock();
    this.#events.clear();
    this.#hostFunctions = new WeakMap();
    this.#allocations.length = 0;
    this.#pinned = new AllocationMap();
    this.#freed.length = 0;
    this.#pending = 0;
  }

  /** Every report so far (in collect mode, also the ones a synchronization already threw). */
  reports(): readonly RaceReport[] {
    requireArity('sanitizer.reports', arguments, 0);
    return [...this.#reports];
  }

  clear(): void {
    requireArity('sanitizer.clear', arguments, 0);
    this.#reports.length = 0;
    this.#pending = 0;
  }

  // ------------------------------------------------------------ happens-before

  #clock(stream: Stream): VectorClock {
    let c = this.#clocks.get(stream);
    if (c === undefined) this.#clocks.set(stream, (c = new VectorClock()));
    return c;
  }

  /** The clock of `stream` at its command `seq`: what it has waited for, what the host knew when it was enqueued, and itself. */
  #clockAt(stream: Stream, seq: number): VectorClock {
    const c = this.#clock(stream);
    c.merge(this.#host);
    c.advance(stream, seq);
    return c;
  }

  #wait(e: RuntimeEvents['streamWait']): void {
    const snapshot = e.event !== undefined ? this.#events.get(e.event) : undefined;
    const c = this.#clock(e.stream);
    if (snapshot !== undefined) c.merge(snapshot);
    else {
      c.merge(this.#clock(e.on));
      c.advance(e.on, e.onSeq);
    }
  }

  #synchronized(e: RuntimeEvents['synchronized']): void {
    if (e.event !== undefined) {
      const snapshot = this.#events.get(e.event);
      if (snapshot !== undefined) this.#host.merge(snapshot);
    } else if (e.stream !== undefined) {
      this.#host.merge(this.#clock(e.stream));
    } else {
      for (const [stream, clock] of this.#clocks) if (stream.device === e.device) this.#host.merge(clock);
    }
    if (this.#mode === 'collect' && this.#pending > 0 && !QUERIES.has(e.call)) {
      const fresh = this.#reports.slice(this.#reports.length - this.#pending);
      this.#pending = 0;
      throw openRegError('dataRace', { call: e.call, report: `${fresh.length} data race${fresh.length === 1 ? '' : 's'} since the last synchronization:\n${fresh.map((r) => r.message).join('\n')}` });
    }
  }

  // ------------------------------------------------------------ memory

  #map(device: number): AllocationMap {
    return (this.#allocations[device] ??= new AllocationMap());
  }

  #allocate(device: number, ptr: number, size: number): void {
    this.#map(device).add({ ptr, size, trace: this.#trace(), accesses: [] });
    const freed = this.#freed[device];
    if (freed !== undefined) this.#freed[device] = freed.filter(([a, b]) => b <= ptr || a >= ptr + size);
  }

  /**
   * The allocation an access falls in: a known one; else memory allocated before the sanitizer
   * started (adopted from the runtime's allocation table); else undefined (freed, or never allocated).
   */
  #allocationOf(device: number, ptr: number): Allocation | undefined {
    const map = this.#map(device);
    const known = map.find(ptr);
    if (known !== undefined || this.#freed[device]?.some(([a, b]) => ptr >= a && ptr < b)) return known;
    const attributes = this.#ctx.api.pointerGetAttributes(ptr);
    if (attributes.type !== 'device' || typeof attributes.basePointer !== 'number') return undefined;
    const adopted: Allocation = { ptr: attributes.basePointer, size: attributes.size, trace: '(allocated before the sanitizer was enabled)', accesses: [] };
    map.add(adopted);
    return adopted;
  }

  #free(device: number, ptr: number, stream: Stream | undefined, uses: readonly Stream[], call: string): void {
    const a = this.#map(device).remove(ptr);
    if (a === undefined) return;
    (this.#freed[device] ??= []).push([a.ptr, a.ptr + a.size]);
    if (stream === undefined) return;
    // Reused at once on `stream` (and after `uses`): any other stream's unordered access is a hazard.
    const now = this.#clock(stream).copy();
    now.merge(this.#host);
    for (const x of a.accesses) {
      if (x.stream === stream || uses.includes(x.stream) || now.covers(x.stream, x.seq)) continue;
      const access = siteOf({ stream, seq: now.get(stream), call, write: true, start: a.ptr, end: a.ptr + a.size, trace: capture() });
      const other = siteOf(x);
      const allocation = { ptr: a.ptr, size: a.size, site: format(a.trace) };
      this.#report({
        kind: 'free',
        device,
        access,
        other,
        allocation,
        message: `${call} on ${access.stream} frees ${a.size} bytes at ${hex(a.ptr)} while ${x.call} on ${other.stream} may still ${x.write ? 'write' : 'read'} them (a missing recordStream?)\n  freed at ${access.site}\n  used at ${other.site}\n  allocated at ${allocation.site}`,
      });
      return;
    }
  }

  // ------------------------------------------------------------ accesses

  #copy(e: RuntimeEvents['copy']): void {
    // A peer copy touches two devices: each pointer says which.
    if (typeof e.src === 'number') this.#access(this.#deviceOf(e.src), e.stream, e.seq, e.call, [[e.src, e.bytes]], false);
    if (typeof e.dst === 'number') this.#access(this.#deviceOf(e.dst), e.stream, e.seq, e.call, [[e.dst, e.bytes]], true);
    // Pinned host buffers are read and written in stream order too (pageable ones are copied at the call).
    if (e.pinned.length > 0) {
      if (typeof e.src !== 'number') this.#pinnedAccess(e.stream, e.seq, e.call, e.src, e.bytes, false);
      if (typeof e.dst !== 'number') this.#pinnedAccess(e.stream, e.seq, e.call, e.dst, e.bytes, true);
    }
    // A copy into pageable memory returns when it is done (CUDA's rule), as the blocking forms do.
    if (HOST_SYNCHRONOUS.has(e.call) || (typeof e.dst !== 'number' && e.pinned.length === 0)) this.#host.merge(this.#clockAt(e.stream, e.seq));
  }

  #deviceOf(ptr: number): number {
    return deviceOfPointer(ptr, this.#ctx.deviceCount);
  }

  #pinnedAccess(stream: Stream, seq: number, call: string, view: ArrayBufferView, bytes: number, write: boolean): void {
    const a = this.#pinnedOf(view);
    if (a === undefined) return;
    const clock = this.#clockAt(stream, seq);
    const access: Access = { stream, seq, call, write, start: view.byteOffset, end: view.byteOffset + bytes, trace: this.#trace() };
    const conflict = a.accesses.find((x) => x.stream !== stream && (write || x.write) && x.start < access.end && access.start < x.end && !clock.covers(x.stream, x.seq));
    if (conflict !== undefined) this.#reportPinned(access, conflict, a);
    a.accesses = a.accesses.filter((x) => !(x.start >= access.start && x.end <= access.end && (x.stream === stream || clock.covers(x.stream, x.seq)) && write));
    a.accesses.push(access);
  }

  /**
   * Checks a host access of pinned memory (`cudaHostAlloc` memory read or written by the CPU):
   * an async copy still writing it (for a read or a write) or still reading it (for a write),
   * with no synchronization since, is a data race. Call it before touching a pinned buffer an
   * async copy used.
   */
  checkHostAccess(view: ArrayBufferView, access: 'read' | 'write' = 'read'): void {
    requireArity('sanitizer.checkHostAccess', arguments, 2);
    const call = 'sanitizer.checkHostAccess';
    this.#ctx.open(call);
    if (!ArrayBuffer.isView(view)) throw invalidValue(call, 'view must be an ArrayBufferView (a typed array or a DataView)', view);
    const write = requireOneOf(call, 'access', access, ['read', 'write'] as const) === 'write';
    if (!this.enabled) return;
    const a = this.#pinnedOf(view);
    if (a === undefined) return;
    const end = view.byteOffset + view.byteLength;
    const host = this.#hostClock();
    const conflict = a.accesses.find((x) => (write || x.write) && x.start < end && view.byteOffset < x.end && !host.covers(x.stream, x.seq));
    if (conflict === undefined) return;
    const hostAccess: Access = { stream: conflict.stream, seq: 0, call: `host ${access}`, write, start: view.byteOffset, end, trace: capture() };
    this.#reportPinned(hostAccess, conflict, a, true);
  }

  /** What the host is ordered after here: its synchronizations, and inside a host function, its stream's work up to it. */
  #hostClock(): VectorClock {
    const fn = this.#ctx.currentHostFunction();
    const at = fn === undefined ? undefined : this.#hostFunctions.get(fn);
    if (at === undefined) return this.#host;
    const clock = at.copy();
    clock.merge(this.#host);
    return clock;
  }

  /** The pinned allocation `view` lies in: a known one, else one made while the sanitizer was off (adopted); undefined for pageable memory. */
  #pinnedOf(view: ArrayBufferView): Allocation | undefined {
    const attributes = this.#ctx.api.pointerGetAttributes(view);
    const base = attributes.basePointer;
    if (attributes.type !== 'host' || !ArrayBuffer.isView(base)) return undefined;
    const known = this.#pinned.find(base.byteOffset);
    if (known !== undefined && known.ptr === base.byteOffset) return known;
    const adopted: Allocation = { ptr: base.byteOffset, size: base.byteLength, trace: '(allocated before the sanitizer was enabled)', accesses: [] };
    this.#pinned.add(adopted);
    return adopted;
  }

  #reportPinned(access: Access, conflict: Access, a: Allocation, byHost = false): void {
    const mine = siteOf({ ...access, trace: typeof access.trace === 'string' ? capture() : access.trace });
    const theirs = siteOf(conflict);
    const who = byHost ? 'the host' : `${access.call} on ${mine.stream}`;
    this.#report({
      kind: 'race',
      device: -1,
      access: byHost ? { ...mine, stream: 'host' } : mine,
      other: theirs,
      allocation: { ptr: a.ptr, size: a.size, site: format(a.trace) },
      message:
        `data race on pinned host memory: ${who} ${access.write ? 'writes' : 'reads'} bytes [${access.start}, ${access.end}) of the pinned pool ` +
        `that ${conflict.call} on ${theirs.stream} ${conflict.write ? 'writes' : 'reads'}, with no synchronization since (${byHost ? 'synchronize the stream first' : 'a missing wait?'})\n` +
        `  this access at ${mine.site}\n  other access at ${theirs.site}`,
    });
  }

  #launch(e: RuntimeEvents['kernelLaunch']): void {
    const what = `${e.call} ${e.kernel}`;
    if (e.reads !== undefined || e.writes !== undefined) {
      if (e.reads !== undefined) this.#access(e.device, e.stream, e.seq, what, e.reads, false);
      if (e.writes !== undefined) this.#access(e.device, e.stream, e.seq, what, e.writes, true);
      return;
    }
    // Undeclared: every argument that points into a live allocation is read-write from there to its end.
    const ranges: [number, number][] = [];
    for (const arg of e.args as readonly KernelArg[]) {
      if (typeof arg !== 'number' || this.#deviceOf(arg) !== e.device) continue;
      const a = this.#allocationOf(e.device, arg);
      if (a !== undefined) ranges.push([arg, a.ptr + a.size - arg]);
    }
    this.#access(e.device, e.stream, e.seq, what, ranges, true);
  }

  #access(device: number, stream: Stream, seq: number, call: string, ranges: readonly (readonly [number, number])[], write: boolean): void {
    if (ranges.length === 0) return;
    const clock = this.#clockAt(stream, seq);
    let trace: Trace | undefined;
    for (const [ptr, bytes] of ranges) {
      if (bytes <= 0) continue;
      trace ??= this.#trace();
      const access: Access = { stream, seq, call, write, start: ptr, end: ptr + bytes, trace };
      const a = this.#allocationOf(device, ptr);
      if (a === undefined) {
        const site = siteOf({ ...access, trace: capture() });
        this.#report({
          kind: 'use-after-free',
          device,
          access: site,
          other: undefined,
          allocation: undefined,
          message: `${call} on ${site.stream} ${write ? 'writes' : 'reads'} bytes [${hex(ptr)}, +${bytes}) of device ${device}, which are in no live allocation (use after free)\n  at ${site.site}`,
        });
        continue;
      }
      const conflict = a.accesses.find((x) => x.stream !== stream && (write || x.write) && x.start < access.end && access.start < x.end && !clock.covers(x.stream, x.seq));
      if (conflict !== undefined) {
        // The racing access's own site is captured now, stacks on or off.
        const [mine, theirs] = [siteOf({ ...access, trace: typeof access.trace === 'string' ? capture() : access.trace }), siteOf(conflict)];
        const allocation = { ptr: a.ptr, size: a.size, site: format(a.trace) };
        this.#report({
          kind: 'race',
          device,
          access: mine,
          other: theirs,
          allocation,
          message:
            `data race on device ${device}: ${call} on ${mine.stream} ${write ? 'writes' : 'reads'} bytes [${hex(Math.max(ptr, conflict.start))}, ${hex(Math.min(access.end, conflict.end))}) ` +
            `that ${conflict.call} on ${theirs.stream} ${conflict.write ? 'writes' : 'reads'}, with nothing ordering them (a missing streamWaitEvent or synchronization?)\n` +
            `  this access at ${mine.site}\n  other access at ${theirs.site}\n  allocated at ${allocation.site}`,
        });
      }
      // What this access supersedes: accesses it is ordered after and covers (a write covers reads and writes, a read only its own stream's reads).
      a.accesses = a.accesses.filter((x) => !(x.start >= access.start && x.end <= access.end && (x.stream === stream || clock.covers(x.stream, x.seq)) && (write || (!x.write && x.stream === stream))));
      a.accesses.push(access);
    }
  }

  #trace(): Trace {
    return this.#stacks ? capture() : '(not captured: enable the sanitizer with { stacks: true })';
  }

  #report(report: RaceReport): void {
    this.#reports.push(report);
    if (this.#mode === 'throw') throw raceError(report);
    this.#pending++;
  }
}

function raceError(report: RaceReport): OpenRegError {
  return openRegError('dataRace', { call: report.access.call.split(' ')[0]!, report: report.message });
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

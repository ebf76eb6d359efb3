/**
 * The trace buffer of one device, both halves: its worker appends a record per executed
 * command while profiling; the main thread resets and reads it. One SharedArrayBuffer:
 * Int32 header words, then records of TRACE_RECORD_F64 Float64 words.
 */
export const TraceWord = { COUNT: 0, DROPPED: 1 } as const;
export const TRACE_HEADER_BYTES = 16;
export const TraceField = { KIND: 0, STREAM: 1, START: 2, END: 3, BYTES: 4, CORRELATION: 5, NAME: 6 } as const;
export const TRACE_RECORD_F64 = 8;
/** Records per device per profiling session; later ones are counted as dropped. */
export const TRACE_CAPACITY = 32768;
export const TRACE_BUFFER_BYTES = TRACE_HEADER_BYTES + TRACE_CAPACITY * TRACE_RECORD_F64 * 8;
/** What a device trace record describes. */
export const TraceKind = { KERNEL: 1, MEMCPY: 2, MEMSET: 3, HOST_FUNCTION: 4, EVENT_RECORD: 5, WAIT: 6 } as const;
export type TraceKind = (typeof TraceKind)[keyof typeof TraceKind];

/** One command's execution as its worker recorded it. */
export interface TraceRecord {
  kind: TraceKind;
  stream: number;
  /** Start and end on the shared clock (ms). */
  start: number;
  end: number;
  bytes: number;
  correlation: number;
  /** Kernel id for kernels, event slot for event records, else 0. */
  name: number;
}

class TraceBuffer {
  protected readonly header: Int32Array;
  protected readonly records: Float64Array;

  constructor(buffer: SharedArrayBuffer) {
    this.header = new Int32Array(buffer, 0, TRACE_HEADER_BYTES / 4);
    this.records = new Float64Array(buffer, TRACE_HEADER_BYTES, TRACE_CAPACITY * TRACE_RECORD_F64);
  }
}

/** The worker's half: appends records (the count is stored last, so a reader never sees a half-written one). */
export class TraceWriter extends TraceBuffer {
  append(kind: TraceKind, stream: number, start: number, end: number, bytes: number, correlation: number, name: number): void {
    const count = this.header[TraceWord.COUNT]!;
    if (count >= TRACE_CAPACITY) {
      this.header[TraceWord.DROPPED]!++;
      return;
    }
    const r = this.records;
    const base = count * TRACE_RECORD_F64;
    r[base + TraceField.KIND] = kind;
    r[base + TraceField.STREAM] = stream;
    r[base + TraceField.START] = start;
    r[base + TraceField.END] = end;
    r[base + TraceField.BYTES] = bytes;
    r[base + TraceField.CORRELATION] = correlation;
    r[base + TraceField.NAME] = name;
    Atomics.store(this.header, TraceWord.COUNT, count + 1);
  }
}

/** The main thread's half: starts a session and reads what the worker wrote. */
export class TraceReader extends TraceBuffer {
  reset(): void {
    Atomics.store(this.header, TraceWord.COUNT, 0);
    Atomics.store(this.header, TraceWord.DROPPED, 0);
  }

  get dropped(): number {
    return Atomics.load(this.header, TraceWord.DROPPED);
  }

  read(): TraceRecord[] {
    const count = Atomics.load(this.header, TraceWord.COUNT);
    const r = this.records;
    const out: TraceRecord[] = [];
    for (let i = 0; i < count; i++) {
      const b = i * TRACE_RECORD_F64;
      out.push({
        kind: r[b + TraceField.KIND]! as TraceKind,
        stream: r[b + TraceField.STREAM]!,
        start: r[b + TraceField.START]!,
        end: r[b + TraceField.END]!,
        bytes: r[b + TraceField.BYTES]!,
        correlation: r[b + TraceField.CORRELATION]!,
        name: r[b + TraceField.NAME]!,
      });
    }
    return out;
  }
}

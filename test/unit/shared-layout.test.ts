import { describe, expect, test } from 'vitest';
import { CmdF64, CmdI32, kernelSlots, MAX_KERNEL_ARGS, SLOTS_SHIFT } from '../../src/protocol/command.js';
import {
  DEFAULT_STREAM_INDEX,
  DEVICE_CONTROL_BYTES,
  DEVICE_STAT_COUNT,
  DEVICE_STATS_OFFSET,
  DeviceStat,
  DeviceWord,
  ERROR_MESSAGE_CAPACITY,
  ERROR_MESSAGE_OFFSET,
  eventEpochIndex,
  eventTimeIndex,
  GRANULE_BYTES,
  MAIN_WATCHER_BIT,
  MAX_DEVICES,
  MAX_EVENTS,
  MAX_STREAMS,
  RING_MASK,
  RING_SLOTS,
  ringF64Base,
  ringI32Base,
  RUNTIME_BLOCK_BYTES,
  RUNTIME_HEADER_BYTES,
  RuntimeWord,
  SLOT_BYTES,
  SLOT_F64,
  SLOT_I32,
  STREAM_HEADER_BYTES,
  STREAM_RECORD_BYTES,
  STREAM_TABLE_OFFSET,
  StreamWord,
  streamWordIndex,
} from '../../src/protocol/layout.js';
import { DEVICE_ADDRESS_SPAN, deviceBase, deviceOfPointer } from '../../src/protocol/pointer.js';
import {
  TRACE_BUFFER_BYTES,
  TRACE_CAPACITY,
  TRACE_HEADER_BYTES,
  TRACE_RECORD_F64,
  TraceField,
  TraceKind,
  TraceReader,
  TraceWord,
  TraceWriter,
} from '../../src/protocol/trace-format.js';

const CACHE_LINE = 64;

/** Byte ranges [start, end) that must not overlap. */
function expectDisjoint(ranges: ReadonlyArray<{ name: string; start: number; end: number }>): void {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    expect(cur.start, `${prev.name} [${prev.start}, ${prev.end}) overlaps ${cur.name} [${cur.start}, ${cur.end})`).toBeGreaterThanOrEqual(prev.end);
  }
}

function maxOf(words: Record<string, number>): number {
  return Math.max(...Object.values(words));
}

function expectDistinct(words: Record<string, number>): void {
  expect(new Set(Object.values(words)).size).toBe(Object.keys(words).length);
}

// Which side writes each stream-record word (see StreamWord): every word must be listed.
const PRODUCER_WORDS = ['STATE', 'PRIORITY', 'FLAGS', 'SUBMITTED', 'HOST_DONE'] as const;
// FAILED_AT is written once, when the device fails (mostly by the worker): it sits with the worker's words.
// WAKE_MAIN_* are read by the worker after every command and written by the main thread once per wait: with the worker's words.
const CONSUMER_WORDS = ['COMPLETED', 'READ_SLOT', 'HOST_PENDING', 'FAILED_AT', 'WAKE_MAIN_ARMED', 'WAKE_MAIN_AT'] as const;

describe('device control block', () => {
  test('header, statistics, error message and stream table are disjoint and in order', () => {
    expectDistinct(DeviceWord);
    expectDistinct(DeviceStat);
    expect(maxOf(DeviceStat)).toBeLessThan(DEVICE_STAT_COUNT);
    const regions = [
      { name: 'header', start: 0, end: (maxOf(DeviceWord) + 1) * 4 },
      { name: 'stats', start: DEVICE_STATS_OFFSET, end: DEVICE_STATS_OFFSET + DEVICE_STAT_COUNT * 8 },
      { name: 'error message', start: ERROR_MESSAGE_OFFSET, end: ERROR_MESSAGE_OFFSET + ERROR_MESSAGE_CAPACITY },
      { name: 'stream table', start: STREAM_TABLE_OFFSET, end: DEVICE_CONTROL_BYTES },
    ];
    expectDisjoint(regions);
    expect(DEVICE_STATS_OFFSET % 8).toBe(0);
    expect(regions[3]!.end).toBe(DEVICE_CONTROL_BYTES);
  });

  test('DEVICE_CONTROL_BYTES is exactly the stream table and allows every typed view the protocol uses', () => {
    expect(DEVICE_CONTROL_BYTES).toBe(STREAM_TABLE_OFFSET + MAX_STREAMS * STREAM_RECORD_BYTES);
    expect(STREAM_RECORD_BYTES).toBe(STREAM_HEADER_BYTES + RING_SLOTS * SLOT_BYTES);
    expect(DEVICE_CONTROL_BYTES % 8).toBe(0);
    const block = new SharedArrayBuffer(DEVICE_CONTROL_BYTES);
    expect(() => new Int32Array(block)).not.toThrow();
    expect(() => new Float64Array(block)).not.toThrow();
    expect(() => new BigInt64Array(block)).not.toThrow();
    expect(() => new Float64Array(block, DEVICE_STATS_OFFSET, DEVICE_STAT_COUNT)).not.toThrow();
    expect(() => new Uint8Array(block, ERROR_MESSAGE_OFFSET, ERROR_MESSAGE_CAPACITY)).not.toThrow();
  });

  test('stream records tile the stream table: headers and rings never overlap', () => {
    const regions: Array<{ name: string; start: number; end: number }> = [];
    for (let s = 0; s < MAX_STREAMS; s++) {
      const recordStart = STREAM_TABLE_OFFSET + s * STREAM_RECORD_BYTES;
      const headerWords = Object.values(StreamWord).map((w) => streamWordIndex(s, w) * 4);
      for (const byte of headerWords) {
        expect(byte).toBeGreaterThanOrEqual(recordStart);
        expect(byte + 4).toBeLessThanOrEqual(recordStart + STREAM_HEADER_BYTES);
      }
      const ringStart = ringI32Base(s) * 4;
      expect(ringStart).toBe(recordStart + STREAM_HEADER_BYTES);
      regions.push({ name: `header ${s}`, start: recordStart, end: recordStart + STREAM_HEADER_BYTES });
      regions.push({ name: `ring ${s}`, start: ringStart, end: ringStart + RING_SLOTS * SLOT_BYTES });
    }
    expectDisjoint(regions);
    expect(regions[0]!.start).toBe(STREAM_TABLE_OFFSET);
    expect(regions[regions.length - 1]!.end).toBe(DEVICE_CONTROL_BYTES);
    expect(DEFAULT_STREAM_INDEX).toBeGreaterThanOrEqual(0);
    expect(DEFAULT_STREAM_INDEX).toBeLessThan(MAX_STREAMS);
  });

  test('producer and consumer header words sit on different 64-byte cache lines', () => {
    expectDistinct(StreamWord);
    expect([...PRODUCER_WORDS, ...CONSUMER_WORDS].sort()).toEqual(Object.keys(StreamWord).sort());
    for (let s = 0; s < MAX_STREAMS; s++) {
      const line = (w: number) => Math.floor((streamWordIndex(s, w) * 4) / CACHE_LINE);
      const producerLines = new Set(PRODUCER_WORDS.map((k) => line(StreamWord[k])));
      const consumerLines = new Set(CONSUMER_WORDS.map((k) => line(StreamWord[k])));
      for (const l of producerLines) expect(consumerLines.has(l)).toBe(false);
      // Neither side's header line is shared with a ring slot (written by the producer, read by the consumer).
      const ringFirstLine = Math.floor((ringI32Base(s) * 4) / CACHE_LINE);
      for (const l of consumerLines) expect(l).toBeLessThan(ringFirstLine);
      if (s > 0) {
        const prevRingEnd = ringI32Base(s - 1) * 4 + RING_SLOTS * SLOT_BYTES;
        for (const l of [...producerLines, ...consumerLines]) expect(l * CACHE_LINE).toBeGreaterThanOrEqual(prevRingEnd);
      }
    }
  });

  test('ring bases are aligned for Float64 and for whole 64-byte slots', () => {
    expect(SLOT_I32 * 4).toBe(SLOT_BYTES);
    expect(SLOT_F64 * 8).toBe(SLOT_BYTES);
    // command.ts addresses slots as `slot << 4` Int32 words and `slot << 3` Float64 words.
    expect(SLOT_I32).toBe(1 << 4);
    expect(SLOT_F64).toBe(1 << 3);
    for (let s = 0; s < MAX_STREAMS; s++) {
      expect(Number.isInteger(ringF64Base(s))).toBe(true);
      expect(ringF64Base(s) * 8).toBe(ringI32Base(s) * 4);
      expect((ringI32Base(s) * 4) % SLOT_BYTES).toBe(0);
    }
    const lastSlotEnd = (ringF64Base(MAX_STREAMS - 1) + RING_SLOTS * SLOT_F64) * 8;
    expect(lastSlotEnd).toBeLessThanOrEqual(DEVICE_CONTROL_BYTES);
  });

  test('RING_SLOTS is a power of two and RING_MASK wraps slot cursors', () => {
    expect(RING_SLOTS).toBeGreaterThan(0);
    expect(RING_SLOTS & (RING_SLOTS - 1)).toBe(0);
    expect(RING_MASK).toBe(RING_SLOTS - 1);
    expect((RING_SLOTS + 5) & RING_MASK).toBe(5);
    expect(-1 & RING_MASK).toBe(RING_SLOTS - 1);
  });
});

describe('commands in ring slots', () => {
  test('each opcode\'s Int32 and Float64 words in the first slot do not alias', () => {
    // Int32 words each op writes, and the Float64 words (each covering two Int32 words).
    const ops: Record<string, { i32: number[]; f64: number[] }> = {
      KERNEL: { i32: [CmdI32.HEADER, CmdI32.CORRELATION, CmdI32.KERNEL_ID, CmdI32.ARGC, CmdI32.ARG_TAGS, CmdI32.ARG_TAGS + 3], f64: [CmdF64.ARGS] },
      COPY: { i32: [CmdI32.HEADER, CmdI32.CORRELATION, CmdI32.SRC_SPACE, CmdI32.DST_SPACE], f64: [CmdF64.SRC_OFFSET, CmdF64.DST_OFFSET, CmdF64.BYTES] },
      MEMSET: { i32: [CmdI32.HEADER, CmdI32.CORRELATION, CmdI32.VALUE, CmdI32.MEMSET_SPACE], f64: [CmdF64.OFFSET, CmdF64.COUNT] },
      RECORD_EVENT: { i32: [CmdI32.HEADER, CmdI32.CORRELATION, CmdI32.EVENT_SLOT, CmdI32.EVENT_EPOCH, CmdI32.EVENT_TIMING], f64: [] },
      WAIT_STREAM: { i32: [CmdI32.HEADER, CmdI32.CORRELATION, CmdI32.WAIT_DEVICE, CmdI32.WAIT_STREAM, CmdI32.WAIT_SEQ], f64: [] },
    };
    for (const [op, { i32, f64 }] of Object.entries(ops)) {
      expect(new Set(i32).size, op).toBe(i32.length);
      expect(new Set(f64).size, op).toBe(f64.length);
      const covered = new Set(f64.flatMap((w) => [2 * w, 2 * w + 1]));
      for (const w of i32) {
        expect(w, op).toBeLessThan(SLOT_I32);
        expect(covered.has(w), `${op}: Int32 word ${w} aliases a Float64 word`).toBe(false);
      }
    }
  });

  test('argument tags cover MAX_KERNEL_ARGS and the largest launch fits the slot-count field and the ring', () => {
    // Four tag words of 16 two-bit tags each, before the first Float64 argument.
    expect(4 * 16).toBeGreaterThanOrEqual(MAX_KERNEL_ARGS);
    expect(CmdI32.ARG_TAGS + Math.ceil(MAX_KERNEL_ARGS / 16)).toBeLessThanOrEqual(2 * CmdF64.ARGS);
    const slots = kernelSlots(MAX_KERNEL_ARGS);
    expect(slots * SLOT_F64).toBeGreaterThanOrEqual(CmdF64.ARGS + MAX_KERNEL_ARGS);
    expect(slots).toBeLessThanOrEqual(0xff);
    expect(slots).toBeLessThan(RING_SLOTS);
    expect(SLOTS_SHIFT + 8).toBeLessThanOrEqual(31);
    expect(kernelSlots(0)).toBe(1);
  });
});

describe('runtime block', () => {
  test('header words fit the header', () => {
    expectDistinct(RuntimeWord);
    expect((maxOf(RuntimeWord) + 1) * 4).toBeLessThanOrEqual(RUNTIME_HEADER_BYTES);
  });

  test('the event table fits RUNTIME_BLOCK_BYTES: epochs after the header, then timestamps', () => {
    expect(eventEpochIndex(0) * 4).toBe(RUNTIME_HEADER_BYTES);
    expect(Number.isInteger(eventTimeIndex(0))).toBe(true);
    expectDisjoint([
      { name: 'header', start: 0, end: RUNTIME_HEADER_BYTES },
      { name: 'epochs', start: eventEpochIndex(0) * 4, end: (eventEpochIndex(MAX_EVENTS - 1) + 1) * 4 },
      { name: 'times', start: eventTimeIndex(0) * 8, end: (eventTimeIndex(MAX_EVENTS - 1) + 1) * 8 },
    ]);
    expect((eventTimeIndex(MAX_EVENTS - 1) + 1) * 8).toBeLessThanOrEqual(RUNTIME_BLOCK_BYTES);
    expect(RUNTIME_BLOCK_BYTES % 8).toBe(0);
  });

  test('writing every epoch and timestamp leaves the others and the header intact', () => {
    const block = new SharedArrayBuffer(RUNTIME_BLOCK_BYTES);
    const i32 = new Int32Array(block);
    const f64 = new Float64Array(block);
    Atomics.store(i32, RuntimeWord.MAIN_WAKE, 12345);
    for (let e = 0; e < MAX_EVENTS; e++) i32[eventEpochIndex(e)] = e + 1;
    for (let e = 0; e < MAX_EVENTS; e++) f64[eventTimeIndex(e)] = -(e + 0.5);
    expect(Atomics.load(i32, RuntimeWord.MAIN_WAKE)).toBe(12345);
    for (let e = 0; e < MAX_EVENTS; e++) {
      if (i32[eventEpochIndex(e)] !== e + 1) expect.unreachable(`epoch ${e} overwritten`);
      if (f64[eventTimeIndex(e)] !== -(e + 0.5)) expect.unreachable(`time ${e} overwritten`);
    }
  });
});

describe('devices', () => {
  test('MAX_DEVICES device bits and MAIN_WATCHER_BIT fit the WATCHERS int32 word without clashing', () => {
    expect(MAX_DEVICES).toBeGreaterThan(0);
    const deviceBits = Array.from({ length: MAX_DEVICES }, (_, d) => 1 << d);
    for (const bit of deviceBits) {
      expect(bit).toBeGreaterThan(0);
      expect(bit & MAIN_WATCHER_BIT).toBe(0);
    }
    expect(MAIN_WATCHER_BIT).toBeGreaterThan(0);
    expect(MAIN_WATCHER_BIT & (MAIN_WATCHER_BIT - 1)).toBe(0); // a single bit
    const all = deviceBits.reduce((m, b) => m | b, MAIN_WATCHER_BIT);
    const header = new Int32Array(new SharedArrayBuffer((DeviceWord.WATCHERS + 1) * 4));
    Atomics.store(header, DeviceWord.WATCHERS, all);
    const read = Atomics.load(header, DeviceWord.WATCHERS);
    for (let d = 0; d < MAX_DEVICES; d++) expect(read & (1 << d)).not.toBe(0);
    expect(read & MAIN_WATCHER_BIT).not.toBe(0);
    expect(Atomics.and(header, DeviceWord.WATCHERS, ~MAIN_WATCHER_BIT) & MAIN_WATCHER_BIT).not.toBe(0);
    expect(Atomics.load(header, DeviceWord.WATCHERS)).toBe(all & ~MAIN_WATCHER_BIT);
  });

  test('every device\'s address span is made of safe integers and maps back to its device', () => {
    const last = MAX_DEVICES - 1;
    expect(Number.isSafeInteger(deviceBase(last) + DEVICE_ADDRESS_SPAN - 1)).toBe(true);
    for (let d = 0; d < MAX_DEVICES; d++) {
      expect(deviceOfPointer(deviceBase(d), MAX_DEVICES)).toBe(d);
      expect(deviceOfPointer(deviceBase(d) + DEVICE_ADDRESS_SPAN - 1, MAX_DEVICES)).toBe(d);
    }
    expect(deviceOfPointer(0, MAX_DEVICES)).toBe(-1);
  });

  test('GRANULE_BYTES is a power of two', () => {
    expect(GRANULE_BYTES & (GRANULE_BYTES - 1)).toBe(0);
    expect(GRANULE_BYTES % 8).toBe(0);
  });
});

describe('trace buffer', () => {
  test('TRACE_BUFFER_BYTES is the header plus TRACE_CAPACITY records of TRACE_RECORD_F64 words', () => {
    expect(TRACE_BUFFER_BYTES).toBe(TRACE_HEADER_BYTES + TRACE_CAPACITY * TRACE_RECORD_F64 * 8);
    expect(TRACE_HEADER_BYTES % 8).toBe(0);
    expectDistinct(TraceWord);
    expect((maxOf(TraceWord) + 1) * 4).toBeLessThanOrEqual(TRACE_HEADER_BYTES);
    expectDistinct(TraceField);
    expect(maxOf(TraceField)).toBeLessThan(TRACE_RECORD_F64);
    expect(Math.min(...Object.values(TraceKind))).toBeGreaterThan(0); // 0 would read as an empty record
  });

  test('a writer fills exactly TRACE_CAPACITY records of a TRACE_BUFFER_BYTES buffer, then counts drops', () => {
    const buffer = new SharedArrayBuffer(TRACE_BUFFER_BYTES);
    const writer = new TraceWriter(buffer);
    const reader = new TraceReader(buffer);
    for (let i = 0; i < TRACE_CAPACITY + 3; i++) writer.append(TraceKind.MEMCPY, i % 7, i, i + 1, i * 2, i + 100, 0);
    const records = reader.read();
    expect(records.length).toBe(TRACE_CAPACITY);
    expect(reader.dropped).toBe(3);
    const last = records[TRACE_CAPACITY - 1]!;
    const i = TRACE_CAPACITY - 1;
    expect(last).toEqual({ kind: TraceKind.MEMCPY, stream: i % 7, start: i, end: i + 1, bytes: i * 2, correlation: i + 100, name: 0 });
    expect(records[0]).toEqual({ kind: TraceKind.MEMCPY, stream: 0, start: 0, end: 1, bytes: 0, correlation: 100, name: 0 });
    reader.reset();
    expect(reader.read()).toEqual([]);
    expect(reader.dropped).toBe(0);
  });
});

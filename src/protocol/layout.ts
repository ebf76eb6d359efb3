/**
 * Every shared-memory layout used by both the main thread and the device workers.
 * This is the only definition of these offsets: both sides import it.
 *
 * Per device, one SharedArrayBuffer (the device control block):
 *   [0, 256)        header words (Int32): doorbell, sleep flag, sticky error, …
 *   [256, 512)      statistics (Float64), written only by the device worker
 *   [512, 1536)     UTF-8 message of the sticky error
 *   [2048, …)       stream table: MAX_STREAMS stream records
 * A stream record is a 128-byte header (a producer line, then a consumer line) followed
 * by a ring of RING_SLOTS command slots of 64 bytes (single producer: the main thread;
 * single consumer: the worker).
 *
 * Per runtime, one SharedArrayBuffer (the runtime block): header words, then the
 * event table (completed-record epoch per event, then a timestamp per event).
 */

/** Words of the device control block header (Int32 indices). */
export const DeviceWord = {
  /** Bumped (and notified) to wake a sleeping worker. */
  DOORBELL: 0,
  /** 1 while the worker is going to sleep or sleeping on DOORBELL: producers must ring. */
  SLEEPING: 1,
  /** Control-plane (comlink) requests in flight: the worker yields to its event loop. */
  CONTROL_PENDING: 2,
  /** Bumped when a stream record is activated or retired; the worker rescans its streams. */
  STREAM_TABLE_GEN: 3,
  /** Sticky error as an error number (0 = none). Set by the worker, or by the host on device loss. */
  STICKY_ERROR: 4,
  /** Bitmask of threads to wake when work completes here: bit d = device d, MAIN_WATCHER_BIT = main. */
  WATCHERS: 5,
  /** Length in bytes of the sticky error's message. */
  ERROR_MESSAGE_BYTES: 6,
  /** 1 while the profiler runs: the worker writes a trace record per command. */
  TRACING: 7,
} as const;

export const MAIN_WATCHER_BIT = 1 << 30;
/** Devices are bits 0..29 of WATCHERS. */
export const MAX_DEVICES = 30;

/** Statistics (Float64 indices within the stats area). */
export const DeviceStat = {
  KERNELS: 0,
  COPIES: 1,
  BYTES_COPIED: 2,
  MEMSETS: 3,
  HOST_FUNCS: 4,
  COMMANDS: 5,
  BUSY_MS: 6,
  EVENTS_RECORDED: 7,
} as const;
export const DEVICE_STAT_COUNT = 8;

export const DEVICE_STATS_OFFSET = 256;
/** Float64 index of the shared-clock time the running kernel started (0 = none): the watchdog reads it. */
export const KERNEL_STARTED_F64 = (DEVICE_STATS_OFFSET + 192) / 8;
export const ERROR_MESSAGE_OFFSET = 512;
export const ERROR_MESSAGE_CAPACITY = 1024;
export const STREAM_TABLE_OFFSET = 2048;

/** Stream records per device (the default stream is record 0). */
export const MAX_STREAMS = 256;
export const DEFAULT_STREAM_INDEX = 0;

/** Command slots. A command occupies one or more consecutive slots. */
export const SLOT_BYTES = 64;
export const SLOT_I32 = SLOT_BYTES / 4;
export const SLOT_F64 = SLOT_BYTES / 8;
/** Slots per stream ring; a power of two. */
export const RING_SLOTS = 1024;
export const RING_MASK = RING_SLOTS - 1;

/**
 * Words of a stream record header (Int32 indices relative to the record). The words the
 * main thread writes and those the worker writes sit on separate 64-byte cache lines:
 * sharing one line made both sides stall on every command.
 */
export const StreamWord = {
  // Written by the main thread (the producer).
  /** StreamState. */
  STATE: 0,
  PRIORITY: 1,
  /** StreamFlag bits. */
  FLAGS: 2,
  /** Commands published by the producer (wrapping sequence number). */
  SUBMITTED: 3,
  /** Last host-function command the main thread has finished. */
  HOST_DONE: 4,
  // Written by the device worker (the consumer).
  /** Commands finished by the worker (wrapping; commands finish in order). */
  COMPLETED: 16,
  /** Slot cursor the worker has consumed up to: the producer's free space. */
  READ_SLOT: 17,
  /** Sequence number of a host-function command waiting for the main thread (0 = none). */
  HOST_PENDING: 18,
  // Written by whichever thread raises the device's sticky error.
  /** COMPLETED when the sticky error was raised: later commands were skipped, not run (meaningful while the error is set). */
  FAILED_AT: 19,
  // Read by the worker after every command, written by the main thread once per wait it arms: on the worker's line.
  /** 1 while a main-thread wait is armed on this stream (the worker clears it when it wakes the main thread). */
  WAKE_MAIN_ARMED: 20,
  /** The stream position (wrapping sequence number) that wait is for: completions before it wake no one. */
  WAKE_MAIN_AT: 21,
} as const;
export const STREAM_HEADER_BYTES = 128;
export const STREAM_RECORD_BYTES = STREAM_HEADER_BYTES + RING_SLOTS * SLOT_BYTES;

export const StreamState = { FREE: 0, ACTIVE: 1, RETIRED: 2 } as const;
export const StreamFlag = { NON_BLOCKING: 1, DEFAULT: 2 } as const;

export const DEVICE_CONTROL_BYTES = STREAM_TABLE_OFFSET + MAX_STREAMS * STREAM_RECORD_BYTES;

/** Int32 index of word `word` of stream record `index`. */
export function streamWordIndex(index: number, word: number): number {
  return (STREAM_TABLE_OFFSET + index * STREAM_RECORD_BYTES) / 4 + word;
}

/** Int32 index of the first word of a stream's ring. */
export function ringI32Base(index: number): number {
  return (STREAM_TABLE_OFFSET + index * STREAM_RECORD_BYTES + STREAM_HEADER_BYTES) / 4;
}

/** Float64 index of the first word of a stream's ring. */
export function ringF64Base(index: number): number {
  return (STREAM_TABLE_OFFSET + index * STREAM_RECORD_BYTES + STREAM_HEADER_BYTES) / 8;
}

/** Words of the runtime block header (Int32 indices). */
export const RuntimeWord = {
  /** Bumped (and notified) to wake main-thread waiters: completions, host-function requests. */
  MAIN_WAKE: 0,
} as const;
export const RUNTIME_HEADER_BYTES = 64;

/** Events in the event table. */
export const MAX_EVENTS = 65536;
/** Int32 index of an event's completed-record epoch. */
export function eventEpochIndex(slot: number): number {
  return RUNTIME_HEADER_BYTES / 4 + slot;
}
/** Float64 index of an event's completion timestamp (ms on the shared clock). */
export function eventTimeIndex(slot: number): number {
  return (RUNTIME_HEADER_BYTES + MAX_EVENTS * 4) / 8 + slot;
}
export const RUNTIME_BLOCK_BYTES = RUNTIME_HEADER_BYTES + MAX_EVENTS * 4 + MAX_EVENTS * 8;

/** Device memory bookkeeping: one granule of the allocation table per 256 bytes. */
export const GRANULE_BYTES = 256;

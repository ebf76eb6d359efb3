/**
 * Command encoding in ring slots. Word 0 of the first slot holds the opcode
 * (bits 0..7) and the number of slots the command occupies (bits 8..15).
 * Int32 words and Float64 words alias the same 64-byte slot.
 */
export const Op = {
  NOP: 0,
  KERNEL: 1,
  HOST_FUNC: 2,
  COPY: 3,
  MEMSET: 4,
  RECORD_EVENT: 5,
  /** Wait until stream (device, index) has completed `seq`: events, legacy-stream order. */
  WAIT_STREAM: 6,
} as const;

export const OP_MASK = 0xff;
export const SLOTS_SHIFT = 8;

/** Int32 word positions within a command's first slot. */
export const CmdI32 = {
  HEADER: 0,
  /** Every command: the profiler's correlation id of the API call that enqueued it (0 = none). */
  CORRELATION: 1,
  // KERNEL
  KERNEL_ID: 2,
  ARGC: 3,
  /** Words 4..7: 2-bit ArgTag per argument, 16 per word. */
  ARG_TAGS: 4,
  // COPY
  SRC_SPACE: 2,
  DST_SPACE: 3,
  // MEMSET
  VALUE: 2,
  MEMSET_SPACE: 3,
  // RECORD_EVENT
  EVENT_SLOT: 2,
  EVENT_EPOCH: 3,
  EVENT_TIMING: 4,
  // WAIT_STREAM
  WAIT_DEVICE: 2,
  WAIT_STREAM: 3,
  WAIT_SEQ: 4,
} as const;

/** Float64 word positions within a command (linear across its slots). */
export const CmdF64 = {
  // COPY
  SRC_OFFSET: 2,
  DST_OFFSET: 3,
  BYTES: 4,
  // MEMSET
  OFFSET: 2,
  COUNT: 3,
  // KERNEL: arguments start here and continue into the following slots.
  ARGS: 4,
} as const;

export const ArgTag = { NUMBER: 0, BIGINT: 1, BOOLEAN: 2 } as const;
export const MAX_KERNEL_ARGS = 64;

/** Copy operand spaces: a device index (>= 0) or pinned host memory. */
export const HOST_POOL_SPACE = -1;

import { type ErrorCode, errorCodeFromNumber, errorNumber } from '../errors/error-code.js';
import { formatMessage } from '../errors/errors.js';
import { OpenRegError } from '../errors/openreg-error.js';
import { DeviceWord, ERROR_MESSAGE_CAPACITY, ERROR_MESSAGE_OFFSET, MAX_STREAMS, StreamWord, streamWordIndex } from './layout.js';

/** Set while the first thread to fail is still writing the message. */
const WRITING = -1;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Records a device's sticky error in its control block. The first error wins (CUDA keeps
 * the first sticky error); returns false if one was already set.
 */
export function raiseStickyError(control: Int32Array, code: ErrorCode, message: string): boolean {
  if (Atomics.compareExchange(control, DeviceWord.STICKY_ERROR, 0, WRITING) !== 0) return false;
  markFailedAt(control);
  writeMessage(control, message);
  Atomics.store(control, DeviceWord.STICKY_ERROR, errorNumber[code]);
  return true;
}

/**
 * Marks the device's worker gone (lost, or terminated by the watchdog: `code`), replacing
 * any earlier sticky error (a dead device stays dead).
 */
export function markDeviceLost(control: Int32Array, message: string, code: ErrorCode = 'ERR_DEVICE_LOST'): void {
  if (Atomics.load(control, DeviceWord.STICKY_ERROR) === 0) markFailedAt(control);
  writeMessage(control, message);
  Atomics.store(control, DeviceWord.STICKY_ERROR, errorNumber[code]);
}

export function clearStickyError(control: Int32Array): void {
  Atomics.store(control, DeviceWord.ERROR_MESSAGE_BYTES, 0);
  Atomics.store(control, DeviceWord.STICKY_ERROR, 0);
}

/** The device's sticky error as thrown by `call`, or undefined if there is none. */
export function readStickyError(control: Int32Array, device: number, call: string): OpenRegError | undefined {
  const n = stickyWord(control);
  if (n === 0) return undefined;
  const code = errorCodeFromNumber(n) ?? 'ERR_LAUNCH_FAILURE';
  const length = Atomics.load(control, DeviceWord.ERROR_MESSAGE_BYTES);
  const bytes = new Uint8Array(control.buffer, ERROR_MESSAGE_OFFSET, length).slice();
  return new OpenRegError(code, formatMessage('stickyError', { call, device, message: decoder.decode(bytes) }), { device });
}

/**
 * Snapshots every stream's COMPLETED as its FAILED_AT: from now on the engine skips commands,
 * so a command after that position completed without running (a read that depends on it must fail).
 */
function markFailedAt(control: Int32Array): void {
  for (let i = 0; i < MAX_STREAMS; i++) {
    Atomics.store(control, streamWordIndex(i, StreamWord.FAILED_AT), Atomics.load(control, streamWordIndex(i, StreamWord.COMPLETED)));
  }
}

/** True if command `seq` (a wrapping int32 word) of stream record `index` ran: the device has no sticky error, or raised it after that command. */
export function commandRan(control: Int32Array, index: number, seq: number): boolean {
  if (stickyWord(control) === 0) return true;
  return ((Atomics.load(control, streamWordIndex(index, StreamWord.FAILED_AT)) - seq) | 0) >= 0;
}

/** The sticky error word once any writer is done: it holds WRITING only while snapshotting positions and copying a short message. */
function stickyWord(control: Int32Array): number {
  let n = Atomics.load(control, DeviceWord.STICKY_ERROR);
  for (let i = 0; n === WRITING && i < 1_000_000; i++) n = Atomics.load(control, DeviceWord.STICKY_ERROR);
  return n;
}

function writeMessage(control: Int32Array, message: string): void {
  const target = new Uint8Array(control.buffer, ERROR_MESSAGE_OFFSET, ERROR_MESSAGE_CAPACITY);
  const { written } = encoder.encodeInto(message, target);
  Atomics.store(control, DeviceWord.ERROR_MESSAGE_BYTES, written);
}

import { ErrorCode } from './error-code.js';
import { OpenRegError, describe } from './openreg-error.js';

/**
 * Every message template openreg throws, by name: `{call}` is the public call the user
 * made; other `{fields}` are filled in. The README's error table lists each one (a test
 * checks), as Node's error table and undici's do.
 */
export const MESSAGES = {
  invalidValue: { code: ErrorCode.INVALID_VALUE, template: '{call}: {problem}, got {value}' },
  invalidArgument: { code: ErrorCode.INVALID_VALUE, template: '{call}: {problem}' },
  invalidDevice: { code: ErrorCode.INVALID_DEVICE, template: '{call}: device must be an integer in [0, {count}), got {value}' },
  invalidHandle: { code: ErrorCode.INVALID_HANDLE, template: '{call}: {problem}' },
  malformedHandle: { code: ErrorCode.INVALID_HANDLE, template: '{call}: {what} is not a {kind} made by a runtime (a malformed handle)' },
  outOfDeviceMemory: {
    code: ErrorCode.OUT_OF_MEMORY,
    template: '{call}: cannot allocate {bytes} bytes on device {device}: {free} bytes free (largest free block {largest}) of {total} total',
  },
  outOfPinnedMemory: { code: ErrorCode.OUT_OF_MEMORY, template: '{call}: cannot allocate {bytes} bytes of pinned memory: {free} bytes free of {total} total' },
  outOfCachedMemory: {
    code: ErrorCode.OUT_OF_MEMORY,
    template:
      '{call}: out of memory on device {device}: tried to allocate {bytes} bytes ({segment} bytes of segment); {free} bytes free of {total}; {allocated} bytes allocated; {reserved} bytes reserved by the caching allocator',
  },
  outOfHostMemory: { code: ErrorCode.OUT_OF_MEMORY, template: '{call}: cannot allocate {bytes} bytes of host memory for a cpu tensor: {reason}' },
  outOfStreams: { code: ErrorCode.OUT_OF_MEMORY, template: '{call}: device {device} has no free stream (all {count} are in use)' },
  outOfEvents: { code: ErrorCode.OUT_OF_MEMORY, template: '{call}: the event table is full' },
  notReady: { code: ErrorCode.NOT_READY, template: '{call}: {which} event has not completed yet' },
  blockingInHostFunction: { code: ErrorCode.NOT_PERMITTED, template: '{call}: cannot block inside a host function (it would deadlock its stream)' },
  blockedBehindHostFunction: {
    code: ErrorCode.NOT_PERMITTED,
    template: "{call}: blocked for {ms} ms while a host function's promise is pending; it cannot settle while the main thread blocks (use the Promise form of this call)",
  },
  awaitsOwnHostFunction: {
    code: ErrorCode.NOT_PERMITTED,
    template: '{call}: waits for work queued behind a host function that is still running or pending, so would never end; do not wait on a stream from its own host function',
  },
  enqueueTimedOut: {
    code: ErrorCode.TIMEOUT,
    template: '{call}: no room to enqueue on device {device} for {ms} ms (its stream ring or the staging memory stayed full: the device is busy or hung); the command was not enqueued',
  },
  backlogFull: {
    code: ErrorCode.OUT_OF_MEMORY,
    template: '{call}: {count} commands already wait on the host behind a host function on this stream; the command was not enqueued',
  },
  stagingDeadlock: {
    code: ErrorCode.NOT_PERMITTED,
    template:
      '{call}: the staging memory is full and waiting for it would deadlock behind a host function; copy from pinned memory (mallocHost) or raise stagingBytes',
  },
  stickyError: { code: ErrorCode.LAUNCH_FAILURE, template: '{call}: device {device} has a sticky error: {message}' },
  kernelThrew: { code: ErrorCode.LAUNCH_FAILURE, template: 'kernel {kernel} on stream {stream} threw {error}' },
  cpuKernelThrew: { code: ErrorCode.LAUNCH_FAILURE, template: '{call}: kernel {kernel} on the CPU pool threw {error}' },
  hostFunctionThrew: { code: ErrorCode.LAUNCH_FAILURE, template: 'host function {name} on stream {stream} threw {error}' },
  illegalAddress: { code: ErrorCode.ILLEGAL_ADDRESS, template: 'illegal address on stream {stream}: {problem}' },
  kernelTimedOut: {
    code: ErrorCode.LAUNCH_TIMEOUT,
    template: 'a kernel on device {device} ran longer than kernelTimeoutMs ({ms} ms): its worker was terminated; deviceReset({device}) starts a new one',
  },
  workDropped: {
    code: ErrorCode.LAUNCH_FAILURE,
    template: '{call}: device {device} was reset (deviceReset) before work this read depends on could be confirmed; its results are gone',
  },
  deviceLost: { code: ErrorCode.DEVICE_LOST, template: '{call}: device {device} is lost' },
  workerExited: { code: ErrorCode.DEVICE_LOST, template: "device {device}'s worker exited with code {exitCode}" },
  dataRace: { code: ErrorCode.DATA_RACE, template: '{call}: {report}' },
  injectedOutOfMemory: { code: ErrorCode.OUT_OF_MEMORY, template: '{call}: cannot allocate {bytes} bytes on device {device}: an injected fault (rt.faults.inject)' },
  cpuWorkPending: { code: ErrorCode.NOT_READY, template: '{call}: {tensor} has work pending on the CPU pool; use the Promise form of this call' },
  maskPending: {
    code: ErrorCode.NOT_READY,
    template: '{call}: the bool mask {tensor} has work pending on the CPU pool, and indexing must read it now: await mask.ready() first, or use the Promise form t.maskedSelect(mask)',
  },
  notImplemented: { code: ErrorCode.NOT_SUPPORTED, template: "{call}: Operator '{op}' is not implemented for device {device}" },
  runtimeClosed: { code: ErrorCode.RUNTIME_CLOSED, template: '{call}: the runtime is closed' },
  waitTimedOut: { code: ErrorCode.TIMEOUT, template: '{call}: the work waited for did not complete within {ms} ms' },
  waitAborted: { code: ErrorCode.ABORTED, template: '{call}: the wait was aborted (signal.reason is the cause)' },
  closedWhileWaiting: { code: ErrorCode.RUNTIME_CLOSED, template: 'wait: the runtime was closed while waiting' },
  fileFailed: { code: ErrorCode.INVALID_VALUE, template: '{call}: cannot {verb} "{path}": {reason}' },
  backendFailed: { code: ErrorCode.INVALID_VALUE, template: '{call}: the device backend of package {name} failed to load: {problem}' },
} as const satisfies Record<string, { code: ErrorCode; template: string }>;

export type MessageName = keyof typeof MESSAGES;

/** Fills a template's `{fields}`. */
export function formatMessage(name: MessageName, fields: Readonly<Record<string, string | number>>): string {
  return MESSAGES[name].template.replace(/\{(\w+)\}/g, (_, key: string) => (key in fields ? String(fields[key]) : `{${key}}`));
}

/** An OpenRegError from a named template. */
export function openRegError(name: MessageName, fields: Readonly<Record<string, string | number>>, device?: number): OpenRegError {
  return new OpenRegError(MESSAGES[name].code, formatMessage(name, fields), device === undefined ? undefined : { device });
}

// Factories for the common cases, so every message has the shape "call: problem, got value".

export function invalidValue(call: string, problem: string, value?: unknown): OpenRegError {
  if (arguments.length > 2) return openRegError('invalidValue', { call, problem, value: describe(value) });
  return openRegError('invalidArgument', { call, problem });
}

export function invalidHandle(call: string, problem: string): OpenRegError {
  return openRegError('invalidHandle', { call, problem });
}

export function invalidDevice(call: string, device: unknown, count: number): OpenRegError {
  return openRegError('invalidDevice', { call, count, value: describe(device) });
}

export function runtimeClosed(call: string): OpenRegError {
  return openRegError('runtimeClosed', { call });
}

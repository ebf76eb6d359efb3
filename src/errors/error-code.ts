/** Stable error codes. Each maps to its CUDA Runtime counterpart where one exists. */
export const ErrorCode = {
  INVALID_VALUE: 'ERR_INVALID_VALUE',
  OUT_OF_MEMORY: 'ERR_OUT_OF_MEMORY',
  INVALID_DEVICE: 'ERR_INVALID_DEVICE',
  INVALID_HANDLE: 'ERR_INVALID_HANDLE',
  NOT_READY: 'ERR_NOT_READY',
  ILLEGAL_ADDRESS: 'ERR_ILLEGAL_ADDRESS',
  LAUNCH_FAILURE: 'ERR_LAUNCH_FAILURE',
  LAUNCH_TIMEOUT: 'ERR_LAUNCH_TIMEOUT',
  NOT_PERMITTED: 'ERR_NOT_PERMITTED',
  DEVICE_LOST: 'ERR_DEVICE_LOST',
  RUNTIME_CLOSED: 'ERR_RUNTIME_CLOSED',
  TIMEOUT: 'ERR_TIMEOUT',
  NOT_SUPPORTED: 'ERR_NOT_SUPPORTED',
  ABORTED: 'ERR_ABORTED',
  DATA_RACE: 'ERR_DATA_RACE',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * Numeric form of each code: the `cudaError_t` value where CUDA has one. Device
 * workers store sticky errors in shared memory as these numbers.
 */
export const errorNumber: Readonly<Record<ErrorCode, number>> = {
  ERR_INVALID_VALUE: 1,
  ERR_OUT_OF_MEMORY: 2,
  ERR_INVALID_DEVICE: 101,
  ERR_INVALID_HANDLE: 400,
  ERR_NOT_READY: 600,
  ERR_ILLEGAL_ADDRESS: 700,
  ERR_LAUNCH_FAILURE: 719,
  ERR_LAUNCH_TIMEOUT: 702,
  ERR_NOT_PERMITTED: 800,
  ERR_DEVICE_LOST: 10001,
  ERR_RUNTIME_CLOSED: 10002,
  ERR_TIMEOUT: 909,
  ERR_NOT_SUPPORTED: 801,
  ERR_ABORTED: 10003,
  ERR_DATA_RACE: 10004,
};

const codeByNumber = new Map<number, ErrorCode>(
  Object.entries(errorNumber).map(([code, n]) => [n, code as ErrorCode]),
);

export function errorCodeFromNumber(n: number): ErrorCode | undefined {
  return codeByNumber.get(n);
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && value in errorNumber;
}

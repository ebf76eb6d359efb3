import { type ErrorCode, errorNumber } from './error-code.js';

// Every worker thread loads its own copy of this module: brand instances so that
// `instanceof` holds across copies (the undici pattern).
const kBrand = Symbol.for('openreg.error');

/** The one error type openreg throws. `code` is stable; `cudaError` is CUDA's number. */
export class OpenRegError extends Error {
  readonly code: ErrorCode;
  /** Device the error belongs to, when it came from (or concerns) one device. */
  readonly device: number | undefined;

  constructor(code: ErrorCode, message: string, options?: { device?: number; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OpenRegError';
    this.code = code;
    this.device = options?.device;
  }

  get cudaError(): number {
    return errorNumber[this.code];
  }

  get [kBrand](): true {
    return true;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[kBrand] === true;
  }
}

/** Renders an offending value for an error message: short, unambiguous. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number' && Number.isInteger(value) && Math.abs(value) >= 2 ** 32) {
    return `0x${value.toString(16)}`;
  }
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  if (ArrayBuffer.isView(value)) return `${value.constructor.name}(${value.byteLength} bytes)`;
  if (value === null || typeof value !== 'object') return String(value);
  return value.constructor?.name ?? 'object';
}

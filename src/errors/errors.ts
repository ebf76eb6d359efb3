import { ErrorCode } from './error-code.js';
import { OpenRegError, describe } from './openreg-error.js';

// Factories for the common cases, so every message has the shape "call: problem, got value".

export function invalidValue(call: string, problem: string, value?: unknown): OpenRegError {
  const got = arguments.length > 2 ? `, got ${describe(value)}` : '';
  return new OpenRegError(ErrorCode.INVALID_VALUE, `${call}: ${problem}${got}`);
}

export function invalidHandle(call: string, problem: string): OpenRegError {
  return new OpenRegError(ErrorCode.INVALID_HANDLE, `${call}: ${problem}`);
}

export function invalidDevice(call: string, device: unknown, count: number): OpenRegError {
  return new OpenRegError(
    ErrorCode.INVALID_DEVICE,
    `${call}: device must be an integer in [0, ${count}), got ${describe(device)}`,
  );
}

export function runtimeClosed(call: string): OpenRegError {
  return new OpenRegError(ErrorCode.RUNTIME_CLOSED, `${call}: the runtime is closed`);
}

export function requireInteger(call: string, name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
    throw invalidValue(call, `${name} must be an integer ${range}`, value);
  }
  return value;
}

import { type MessageName, MESSAGES, formatMessage, invalidValue } from '../errors/errors.js';
import { OpenRegError } from '../errors/openreg-error.js';

// Argument checks and error wrapping shared by save/load and the backend loader.

/** An OpenRegError from a named template that keeps the error behind it as `cause`. */
export function causedError(name: MessageName, fields: Readonly<Record<string, string | number>>, cause: unknown): OpenRegError {
  return new OpenRegError(MESSAGES[name].code, formatMessage(name, fields), { cause });
}

/** What went wrong, in a line: a Node error's message without its ", open '<path>'" tail (the caller names the path). */
export function reasonOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const { syscall } = error as NodeJS.ErrnoException;
  const tail = typeof syscall === 'string' ? error.message.lastIndexOf(`, ${syscall}`) : -1;
  return tail > 0 ? error.message.slice(0, tail) : error.message;
}

/** A file operation that failed: ERR_INVALID_VALUE naming the call and the path, with the Node error as cause. */
export function fileError(call: string, verb: 'read' | 'write', path: string, error: unknown): OpenRegError {
  if (error instanceof OpenRegError) return error;
  return causedError('fileFailed', { call, verb, path, reason: reasonOf(error) }, error);
}

/** A file path: a non-empty string without NUL bytes (which no file system allows). */
export function requirePath(call: string, name: string, value: unknown): string {
  if (typeof value !== 'string' || value === '' || value.includes('\0')) throw invalidValue(call, `${name} must be a non-empty file path without NUL bytes`, value);
  return value;
}

/** A plain object (`{}` or `Object.create(null)`): not an array, a Tensor, a Promise or another class's instance. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === null || proto === Object.prototype;
}


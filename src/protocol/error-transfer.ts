import { type TransferHandler, transferHandlers } from 'comlink';
import { isErrorCode } from '../errors/error-code.js';
import { OpenRegError } from '../errors/openreg-error.js';

interface SerializedThrow {
  isError: boolean;
  value: unknown;
}

// comlink's default "throw" handler keeps only name, message and stack; replace it
// so an OpenRegError thrown in a device worker arrives with its code intact.
export function installErrorTransfer(): void {
  const original = transferHandlers.get('throw');
  if (original === undefined || (original as { openreg?: true }).openreg) return;
  transferHandlers.set('throw', {
    openreg: true,
    canHandle: original.canHandle,
    serialize(thrown: unknown) {
      const value = (thrown as { value: unknown }).value;
      const serialized: SerializedThrow =
        value instanceof Error
          ? {
              isError: true,
              value: {
                message: value.message,
                stack: value.stack,
                code: (value as { code?: unknown }).code,
                device: (value as { device?: unknown }).device,
              },
            }
          : { isError: false, value };
      return [serialized, []];
    },
    deserialize(serialized: unknown): never {
      const { isError, value } = serialized as SerializedThrow;
      if (!isError) throw value;
      const e = value as { message: string; stack?: string; code?: unknown; device?: unknown };
      const error = isErrorCode(e.code)
        ? new OpenRegError(e.code, e.message, typeof e.device === 'number' ? { device: e.device } : undefined)
        : new Error(e.message);
      if (e.stack) error.stack = e.stack;
      throw error;
    },
  } as TransferHandler<unknown, unknown>);
}

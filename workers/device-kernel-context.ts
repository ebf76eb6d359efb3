import { ErrorCode } from '../src/errors/error-code.js';
import { OpenRegError, describe } from '../src/errors/openreg-error.js';
import type { KernelContext } from '../src/protocol/kernel-context.js';
import type { AllocationTable } from '../src/memory/allocation-table.js';
import { deviceBase } from '../src/protocol/pointer.js';

type ViewConstructor<T> = { new (buffer: ArrayBufferLike, byteOffset: number, length: number): T; BYTES_PER_ELEMENT: number };

/**
 * The KernelContext of one device: one instance, reused by every launch, so it is frozen
 * (and so is its prototype): what one kernel does to it cannot leak into the next.
 */
export class DeviceKernelContext implements KernelContext {
  readonly #device: number;
  /** Id of the kernel running now; its name is looked up only for an error message. */
  #kernelId = 0;
  /** Memory freed at or before this epoch was freed before the running kernel was launched. */
  #freeEpoch = 0;
  readonly #nameOf: (id: number) => string;
  readonly #heap: SharedArrayBuffer;
  readonly #table: AllocationTable;
  readonly #base: number;

  constructor(device: number, heap: SharedArrayBuffer, table: AllocationTable, nameOf: (id: number) => string) {
    this.#device = device;
    this.#nameOf = nameOf;
    this.#heap = heap;
    this.#table = table;
    this.#base = deviceBase(device);
    Object.freeze(this);
  }

  get device(): number {
    return this.#device;
  }

  get kernelId(): number {
    return this.#kernelId;
  }

  /** The engine announces the kernel it is about to run, and the free epoch it was launched at. */
  begin(kernelId: number, freeEpoch: number): void {
    this.#kernelId = kernelId;
    this.#freeEpoch = freeEpoch;
  }

  u8(ptr: number, length: number) { return this.#view(Uint8Array, ptr, length, 'u8'); }
  i8(ptr: number, length: number) { return this.#view(Int8Array, ptr, length, 'i8'); }
  u16(ptr: number, length: number) { return this.#view(Uint16Array, ptr, length, 'u16'); }
  i16(ptr: number, length: number) { return this.#view(Int16Array, ptr, length, 'i16'); }
  u32(ptr: number, length: number) { return this.#view(Uint32Array, ptr, length, 'u32'); }
  i32(ptr: number, length: number) { return this.#view(Int32Array, ptr, length, 'i32'); }
  f32(ptr: number, length: number) { return this.#view(Float32Array, ptr, length, 'f32'); }
  f64(ptr: number, length: number) { return this.#view(Float64Array, ptr, length, 'f64'); }
  bigInt64(ptr: number, length: number) { return this.#view(BigInt64Array, ptr, length, 'bigInt64'); }
  bigUint64(ptr: number, length: number) { return this.#view(BigUint64Array, ptr, length, 'bigUint64'); }

  #view<T>(View: ViewConstructor<T>, ptr: number, length: number, name: string): T {
    const offset = typeof ptr === 'number' ? ptr - this.#base : NaN;
    const size = View.BYTES_PER_ELEMENT;
    if (!Number.isInteger(length) || length < 0) {
      throw this.#illegal(`ctx.${name}(${describe(ptr)}, ${describe(length)}): length must be a non-negative integer`);
    }
    if (!Number.isInteger(offset) || offset % size !== 0) {
      throw this.#illegal(`ctx.${name}(${describe(ptr)}, ${length}): not a ${size}-byte aligned pointer into device ${this.device}`);
    }
    const base = this.#table.find(offset, length * size);
    if (base < 0) {
      throw this.#illegal(`ctx.${name}(${describe(ptr)}, ${length}): ${length * size} bytes are not inside one live allocation of device ${this.device}`);
    }
    // Freed but not yet reused (earlier work may still run on it): off limits to later launches.
    if (this.#table.freedBy(base, this.#freeEpoch)) {
      throw this.#illegal(`ctx.${name}(${describe(ptr)}, ${length}): the allocation was freed before this kernel was launched (use after free)`);
    }
    return new View(this.#heap, offset, length);
  }

  #illegal(message: string): OpenRegError {
    return new OpenRegError(ErrorCode.ILLEGAL_ADDRESS, `kernel ${this.#nameOf(this.#kernelId)}: ${message}`, { device: this.device });
  }
}

Object.freeze(DeviceKernelContext.prototype);

import { ErrorCode } from '../src/errors/error-code.js';
import { OpenRegError, describe } from '../src/errors/openreg-error.js';
import type { KernelContext } from '../src/protocol/kernel-context.js';
import type { AllocationTable } from '../src/memory/allocation-table.js';
import { deviceBase } from '../src/protocol/pointer.js';
import type { BindOperand } from '../src/protocol/kernel-abi.js';
import { DTYPE_CODE_ITEMSIZE } from '../src/protocol/tensor-abi.js';

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
    this.bindOperand = (arg, param) => {
      const itemsize = DTYPE_CODE_ITEMSIZE[arg.dtype]!;
      arg.memory = heap;
      // An empty tensor addresses nothing: its pointer is not checked.
      arg.byteOffset = arg.reach === 0 ? 0 : this.#checkRange(() => `${param} (pointer ${describe(arg.ptr)}, ${arg.reach} elements)`, arg.ptr, arg.reach * itemsize, itemsize);
    };
    Object.freeze(this);
  }

  /** The typed ABI's bounds check: a tensor operand's whole reach, once per launch. */
  readonly bindOperand: BindOperand;

  /** The argument block of an indirect typed launch, checked to lie in one live allocation. */
  argumentBlock(ptr: number, words: number): Float64Array {
    return new Float64Array(this.#heap, this.#checkRange(() => 'the argument block', ptr, words * 8, 8), words);
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
    if (!Number.isInteger(length) || length < 0) {
      throw this.#illegal(`ctx.${name}(${describe(ptr)}, ${describe(length)}): length must be a non-negative integer`);
    }
    const size = View.BYTES_PER_ELEMENT;
    return new View(this.#heap, this.#checkRange(() => `ctx.${name}(${describe(ptr)}, ${length})`, ptr, length * size, size), length);
  }

  /**
   * The heap offset of `bytes` at `ptr`, which must be `align`-aligned and inside one live
   * allocation not freed before the launch. `what` names the access, built only for an error.
   */
  #checkRange(what: () => string, ptr: number, bytes: number, align: number): number {
    const offset = typeof ptr === 'number' ? ptr - this.#base : NaN;
    if (!Number.isInteger(offset) || offset % align !== 0) {
      throw this.#illegal(`${what()}: not a ${align}-byte aligned pointer into device ${this.device}`);
    }
    const base = this.#table.find(offset, bytes);
    if (base < 0) {
      throw this.#illegal(`${what()}: ${bytes} bytes are not inside one live allocation of device ${this.device}`);
    }
    // Freed but not yet reused (earlier work may still run on it): off limits to later launches.
    if (this.#table.freedBy(base, this.#freeEpoch)) {
      throw this.#illegal(`${what()}: the allocation was freed before this kernel was launched (use after free)`);
    }
    return offset;
  }

  #illegal(message: string): OpenRegError {
    return new OpenRegError(ErrorCode.ILLEGAL_ADDRESS, `kernel ${this.#nameOf(this.#kernelId)}: ${message}`, { device: this.device });
  }
}

Object.freeze(DeviceKernelContext.prototype);

/**
 * The CPU pool's task (a piscina worker): runs one tensor kernel over the task's shared
 * buffers. It is the `cpu` backend of the dispatcher and the compute of the CPU fallback.
 */
import type { KernelContext } from '../src/protocol/kernel-context.js';
import { HOST_SLOT_SCALE, type TensorKernel } from '../src/protocol/tensor-abi.js';
import * as elementwise from './tensor-kernels.js';
import * as linalg from './tensor-linalg-kernels.js';

/** What the host sends: a kernel name, its arguments, and the buffers its pointers index. */
export interface CpuTask {
  kernel: TensorKernel;
  args: number[];
  buffers: SharedArrayBuffer[];
}

type View<T> = { new (buffer: ArrayBufferLike, byteOffset: number, length: number): T; BYTES_PER_ELEMENT: number };

/** A KernelContext over host buffers: a pointer is slot × 2^40 + byte offset. */
class HostKernelContext implements KernelContext {
  readonly device = -1;
  readonly #buffers: SharedArrayBuffer[];

  constructor(buffers: SharedArrayBuffer[]) {
    this.#buffers = buffers;
  }

  u8(ptr: number, length: number) { return this.#view(Uint8Array, ptr, length); }
  i8(ptr: number, length: number) { return this.#view(Int8Array, ptr, length); }
  u16(ptr: number, length: number) { return this.#view(Uint16Array, ptr, length); }
  i16(ptr: number, length: number) { return this.#view(Int16Array, ptr, length); }
  u32(ptr: number, length: number) { return this.#view(Uint32Array, ptr, length); }
  i32(ptr: number, length: number) { return this.#view(Int32Array, ptr, length); }
  f32(ptr: number, length: number) { return this.#view(Float32Array, ptr, length); }
  f64(ptr: number, length: number) { return this.#view(Float64Array, ptr, length); }
  bigInt64(ptr: number, length: number) { return this.#view(BigInt64Array, ptr, length); }
  bigUint64(ptr: number, length: number) { return this.#view(BigUint64Array, ptr, length); }

  #view<T>(View: View<T>, ptr: number, length: number): T {
    const buffer = this.#buffers[Math.floor(ptr / HOST_SLOT_SCALE)];
    if (buffer === undefined) throw new RangeError(`cpu kernel: pointer ${ptr} names no buffer of the task`);
    return new View(buffer, ptr % HOST_SLOT_SCALE, length);
  }
}

const table = { ...elementwise, ...linalg } as unknown as Record<string, (ctx: KernelContext, ...args: number[]) => void>;

export default function runCpuTask(task: CpuTask): void {
  const kernel = table[task.kernel];
  if (kernel === undefined) throw new RangeError(`cpu kernel: no kernel ${task.kernel}`);
  kernel(new HostKernelContext(task.buffers), ...task.args);
}

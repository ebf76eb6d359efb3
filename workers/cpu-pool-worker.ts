/**
 * The CPU pool's task (a piscina worker): runs one typed tensor kernel over the task's shared
 * buffers. It is the `cpu` backend of the dispatcher and the compute of the CPU fallback.
 */
import type { KernelContext } from '../src/protocol/kernel-context.js';
import { ArgumentDecoder, type BindOperand, type TypedKernel, signatureOf } from '../src/protocol/kernel-abi.js';
import { DTYPE_CODE_ITEMSIZE, HOST_SLOT_SCALE } from '../src/protocol/tensor-abi.js';
import * as elementwise from './tensor-kernels.js';
import * as linalg from './tensor-linalg-kernels.js';
import { SimdKernels, installSimdKernels } from './simd-kernels.js';

/** What the host sends: a kernel name, its argument block, and the buffers its pointers index. */
export interface CpuTask {
  kernel: string;
  words: Float64Array;
  buffers: SharedArrayBuffer[];
}

type View<T> = { new (buffer: ArrayBufferLike, byteOffset: number, length: number): T; BYTES_PER_ELEMENT: number };

/** A KernelContext over host buffers: a pointer is slot × 2^40 + byte offset. */
class HostKernelContext implements KernelContext {
  readonly device = -1;
  #buffers: SharedArrayBuffer[] = [];

  /** The typed ABI's bounds check: the operand's whole reach must lie in the buffer its pointer names. */
  readonly bindOperand: BindOperand = (arg, param) => {
    const itemsize = DTYPE_CODE_ITEMSIZE[arg.dtype]!;
    const slot = Math.floor(arg.ptr / HOST_SLOT_SCALE);
    const offset = arg.ptr - slot * HOST_SLOT_SCALE;
    const buffer = this.#buffers[slot];
    if (buffer === undefined) throw new RangeError(`cpu kernel: ${param}'s pointer ${arg.ptr} names no buffer of the task`);
    if (offset % itemsize !== 0 || offset + arg.reach * itemsize > buffer.byteLength) {
      throw new RangeError(`cpu kernel: ${param} (${arg.reach} elements at byte ${offset}) is outside its ${buffer.byteLength}-byte buffer`);
    }
    arg.memory = buffer;
    arg.byteOffset = offset;
  };

  use(buffers: SharedArrayBuffer[]): this {
    this.#buffers = buffers;
    return this;
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

const kernels = new Map<string, TypedKernel>();
for (const fn of Object.values({ ...elementwise, ...linalg })) {
  const signature = signatureOf(fn);
  if (signature !== undefined) kernels.set(signature.name, fn as unknown as TypedKernel);
}
const ctx = new HostKernelContext();
// The task's buffers are staged through this thread's wasm memory: the cpu backend runs the devices' kernels.
installSimdKernels(SimdKernels.staged());
const decoder = new ArgumentDecoder();

export default function runCpuTask(task: CpuTask): void {
  const kernel = kernels.get(task.kernel);
  if (kernel === undefined) throw new RangeError(`cpu kernel: no kernel ${task.kernel}`);
  ctx.use(task.buffers);
  try {
    kernel(ctx, decoder.decode(signatureOf(kernel)!, task.words, task.words.length, ctx.bindOperand));
  } finally {
    ctx.use([]);
  }
}

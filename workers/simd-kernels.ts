/**
 * The builtin kernels in WebAssembly SIMD (built from workers/wasm/ by `npm run build`), as
 * the JS tensor kernels call them for the cases they cover (workers/simd-paths.ts). A device worker
 * instantiates them on its device memory, so they run in place; a CPU-pool worker on a memory
 * of its own, through which it stages its task's buffers (one copy in, one out), so the cpu
 * backend computes exactly what the devices compute.
 */
import { readFileSync } from 'node:fs';
import type { TensorArg } from '../src/protocol/kernel-abi.js';
import { DTYPE_CODE_ITEMSIZE } from '../src/protocol/tensor-abi.js';
import { KERNEL_WORKSPACE_BYTES, WASM_PAGE_BYTES, type WasmMemory, kernelWorkspaceOf, wasm } from '../src/protocol/wasm-memory.js';

/** The module's exports: pointers are byte addresses in its memory, counts are elements. */
export type SimdExports = {
  binaryF32(op: number, a: number, b: number, o: number, n: number): void;
  binaryScalarF32(op: number, a: number, s: number, o: number, n: number): void;
  binaryRowsF32(op: number, a: number, b: number, o: number, rows: number, cols: number): void;
  binaryColsF32(op: number, a: number, b: number, o: number, rows: number, cols: number): void;
  axpyF32(a: number, b: number, alpha: number, o: number, n: number): void;
  binaryF64(op: number, a: number, b: number, o: number, n: number): void;
  binaryScalarF64(op: number, a: number, s: number, o: number, n: number): void;
  binaryRowsF64(op: number, a: number, b: number, o: number, rows: number, cols: number): void;
  binaryColsF64(op: number, a: number, b: number, o: number, rows: number, cols: number): void;
  axpyF64(a: number, b: number, alpha: number, o: number, n: number): void;
  negF32(x: number, o: number, n: number): void;
  absF32(x: number, o: number, n: number): void;
  reluF32(x: number, o: number, n: number): void;
  sqrtF32(x: number, o: number, n: number): void;
  expF32(x: number, o: number, n: number): void;
  logF32(x: number, o: number, n: number): void;
  tanhF32(x: number, o: number, n: number): void;
  sigmoidF32(x: number, o: number, n: number): void;
  reluGradF32(x: number, o: number, n: number): void;
  negF64(x: number, o: number, n: number): void;
  absF64(x: number, o: number, n: number): void;
  reluF64(x: number, o: number, n: number): void;
  sqrtF64(x: number, o: number, n: number): void;
  reluGradF64(x: number, o: number, n: number): void;
  sumF32(x: number, n: number): number;
  maxF32(x: number, n: number): number;
  sumRowsF32(x: number, o: number, rows: number, cols: number, scale: number): void;
  maxRowsF32(x: number, o: number, rows: number, cols: number): void;
  sumColsF32(x: number, o: number, rows: number, cols: number, scale: number): void;
  extremeRowsF32(x: number, o: number, idx: number, rows: number, cols: number, smallest: number): void;
  sumRowsF64(x: number, o: number, rows: number, cols: number, scale: number): void;
  maxRowsF64(x: number, o: number, rows: number, cols: number): void;
  sumColsF64(x: number, o: number, rows: number, cols: number, scale: number): void;
  softmaxRowsF32(x: number, o: number, rows: number, cols: number, log: number): void;
  softmaxBackwardRowsF32(g: number, y: number, o: number, rows: number, cols: number): void;
  matmulF32(a: number, b: number, c: number, n: number, k: number, m: number, aRow: number, aCol: number, bRow: number, bCol: number, work: number): void;
  matmulF64(a: number, b: number, c: number, n: number, k: number, m: number, aRow: number, aCol: number, bRow: number, bCol: number, work: number): void;
  matmulTransposedF32(a: number, b: number, c: number, n: number, k: number, m: number, aRow: number, bCol: number): void;
  matmulHalf(a: number, b: number, c: number, n: number, k: number, m: number, aRow: number, aCol: number, bRow: number, bCol: number, work: number, bf16: number): void;
  matmulHalfWorkspace(k: number): number;
  binaryHalf(op: number, a: number, b: number, alpha: number, o: number, n: number, bf16: number): void;
  binaryScalarHalf(op: number, a: number, s: number, o: number, n: number, bf16: number): void;
  binaryRowsHalf(op: number, a: number, b: number, o: number, rows: number, cols: number, bf16: number): void;
  binaryColsHalf(op: number, a: number, b: number, o: number, rows: number, cols: number, bf16: number): void;
  unaryHalf(op: number, x: number, o: number, n: number, bf16: number): void;
  compareF32(op: number, a: number, b: number, o: number, n: number): void;
  compareScalarF32(op: number, a: number, s: number, o: number, n: number): void;
  compareF64(op: number, a: number, b: number, o: number, n: number): void;
  compareScalarF64(op: number, a: number, s: number, o: number, n: number): void;
  compareHalf(op: number, a: number, b: number, o: number, n: number, bf16: number): void;
  compareScalarHalf(op: number, a: number, s: number, o: number, n: number, bf16: number): void;
  f32ToHalf(x: number, o: number, n: number, bf16: number): void;
  halfToF32(x: number, o: number, n: number, bf16: number): void;
  f32ToF64(x: number, o: number, n: number): void;
  f64ToF32(x: number, o: number, n: number): void;
} & { readonly [K in WasmOpName]: { readonly value: number } };

/** The op codes the module exports (workers/wasm/elementwise.ts, comparisons.ts): the kernels' `op` arguments. */
export type WasmOpName = 'ADD' | 'SUB' | 'MUL' | 'DIV' | 'MAXIMUM' | 'MINIMUM' | 'THRESHOLD_BACKWARD' | 'NEG' | 'ABS' | 'RELU' | 'SQRT' | 'EXP' | 'LOG' | 'TANH' | 'SIGMOID' | 'RELU_GRAD' | 'EQ' | 'NE' | 'LT' | 'LE' | 'GT' | 'GE';

let compiled: object | undefined;

/** The module, compiled once per thread. */
function compiledModule(): object {
  compiled ??= new wasm.Module(readFileSync(new URL('./wasm/kernels.wasm', import.meta.url)));
  return compiled;
}

/** A staging memory's layout: the first page untouched (address 0 is never handed out), the kernel workspace, then staged operands. */
const STAGED_WORKSPACE = WASM_PAGE_BYTES;
const STAGING_BASE = STAGED_WORKSPACE + KERNEL_WORKSPACE_BYTES;
/** A staging memory larger than this after a task is replaced by a fresh one. */
const STAGING_KEPT_BYTES = 256 * 1024 * 1024;

function stagingMemory(): WasmMemory {
  return new wasm.Memory({ initial: STAGING_BASE / WASM_PAGE_BYTES + 1, maximum: 65536, shared: true });
}

/**
 * The wasm kernels on one memory. `input`/`output` give an operand's address in it: its own
 * byte offset when the operand lives there, else a staged copy (written back by `finish`).
 */
export class SimdKernels {
  exports!: SimdExports;
  /** The kernel workspace's address (KERNEL_WORKSPACE_BYTES of scratch no operand overlaps). */
  readonly workspace: number;
  readonly #staging: boolean;
  #memory!: WasmMemory;
  /** The memory's buffer (read once: operands are compared with it on every launch) and a view of it. */
  #buffer!: ArrayBufferLike;
  #bytes!: Uint8Array;
  #top = STAGING_BASE;
  readonly #pending: { arg: TensorArg; address: number; bytes: number }[] = [];

  private constructor(memory: WasmMemory, staging: boolean) {
    this.workspace = staging ? STAGED_WORKSPACE : kernelWorkspaceOf(memory);
    this.#staging = staging;
    this.#instantiate(memory);
  }

  /** On a device's memory: its operands are always there. */
  static inPlace(memory: WasmMemory): SimdKernels {
    return new SimdKernels(memory, false);
  }

  /** On a memory of its own, grown on demand: every operand is staged. */
  static staged(): SimdKernels {
    return new SimdKernels(stagingMemory(), true);
  }

  /** The address of an operand the kernel reads (its whole reach is staged: strides stay valid). */
  input(arg: TensorArg): number {
    if (arg.memory === this.#buffer) return arg.byteOffset;
    const bytes = arg.reach * DTYPE_CODE_ITEMSIZE[arg.dtype]!;
    const address = this.#reserve(bytes);
    this.#bytes.set(new Uint8Array(arg.memory, arg.byteOffset, bytes), address);
    return address;
  }

  /** The address of a dense operand the kernel writes (its values are not read first). */
  output(arg: TensorArg): number {
    if (arg.memory === this.#buffer) return arg.byteOffset;
    const bytes = arg.numel * DTYPE_CODE_ITEMSIZE[arg.dtype]!;
    const address = this.#reserve(bytes);
    this.#pending.push({ arg, address, bytes });
    return address;
  }

  /** Copies staged outputs back to where they belong and frees the staging area. */
  finish(): void {
    for (const { arg, address, bytes } of this.#pending) new Uint8Array(arg.memory, arg.byteOffset, bytes).set(this.#bytes.subarray(address, address + bytes));
    this.#pending.length = 0;
    this.#top = STAGING_BASE;
    // A memory never shrinks: one grown past what ordinary tasks need is dropped for a fresh one.
    if (this.#staging && this.#bytes.byteLength > STAGING_KEPT_BYTES) this.#instantiate(stagingMemory());
  }

  #instantiate(memory: WasmMemory): void {
    this.#memory = memory;
    this.#viewMemory();
    this.exports = new wasm.Instance(compiledModule(), { env: { memory } }).exports as unknown as SimdExports;
  }

  /** Reads the memory's buffer again: growing a memory gives it a new one. */
  #viewMemory(): void {
    this.#buffer = this.#memory.buffer;
    this.#bytes = new Uint8Array(this.#buffer);
  }

  #reserve(bytes: number): number {
    if (!this.#staging) throw new RangeError('a wasm kernel operand outside the device memory');
    const address = this.#top;
    // 16-byte aligned, as v128 loads like.
    this.#top = address + ((bytes + 15) & ~15);
    if (this.#top > this.#bytes.byteLength) {
      this.#memory.grow(Math.ceil((this.#top - this.#bytes.byteLength) / WASM_PAGE_BYTES));
      this.#viewMemory();
    }
    return address;
  }
}

let installed: SimdKernels | undefined;

/** Makes `kernels` the ones this thread's tensor kernels use. */
export function installSimdKernels(kernels: SimdKernels): void {
  installed = kernels;
}

/** This thread's wasm kernels, if it installed them. */
export function simdKernels(): SimdKernels | undefined {
  return installed;
}

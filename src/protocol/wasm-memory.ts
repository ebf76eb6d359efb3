/**
 * Device memory is a shared `WebAssembly.Memory` of fixed size: its `buffer` is a
 * SharedArrayBuffer that never moves, the device worker runs its wasm kernels on it in
 * place, and JS kernels, copies and views see the same bytes.
 */

/** The part of the WebAssembly API openreg uses (TypeScript declares it only with the DOM lib). */
export interface WasmMemory {
  readonly buffer: ArrayBufferLike;
  grow(pages: number): number;
}
type WasmExports = Record<string, unknown>;
interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { readonly exports: WasmExports };
}
export const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** A wasm page: memories are sized in whole pages. */
export const WASM_PAGE_BYTES = 64 * 1024;

/** wasm32 addresses 4 GiB: the most one memory can have; a device's allocatable memory is that less its kernel workspace. */
export const MAX_WASM_MEMORY_BYTES = 65536 * WASM_PAGE_BYTES;

/**
 * Scratch the wasm kernels may use, kept at the end of each device's memory past what the
 * allocator hands out: matmul packs panels of B there (128 KiB), the half-precision matmul
 * converts its operands' panels (about 1 KiB per unit of depth). Pages never touched cost nothing.
 */
export const KERNEL_WORKSPACE_BYTES = 8 * 1024 * 1024;

/** A device's memory: a fixed-size shared memory holding `heapBytes` for the allocator and the kernel workspace after them. */
export function createDeviceMemory(heapBytes: number): WasmMemory {
  const pages = Math.ceil((heapBytes + KERNEL_WORKSPACE_BYTES) / WASM_PAGE_BYTES);
  return new wasm.Memory({ initial: pages, maximum: pages, shared: true });
}

/** Where a device memory's kernel workspace starts. */
export function kernelWorkspaceOf(memory: WasmMemory): number {
  return memory.buffer.byteLength - KERNEL_WORKSPACE_BYTES;
}

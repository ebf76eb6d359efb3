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
export type WasmExports = Record<string, unknown>;
interface WasmApi {
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { readonly exports: WasmExports };
}
export const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** A wasm page: memories are sized in whole pages. */
export const WASM_PAGE_BYTES = 64 * 1024;

/** wasm32 addresses 4 GiB: the most one memory, and so one device, can have. */
export const MAX_WASM_MEMORY_BYTES = 65536 * WASM_PAGE_BYTES;

/** A fixed-size shared memory of at least `bytes` (rounded up to whole pages; the tail is never allocated). */
export function createSharedWasmMemory(bytes: number): WasmMemory {
  const pages = Math.max(1, Math.ceil(bytes / WASM_PAGE_BYTES));
  return new wasm.Memory({ initial: pages, maximum: pages, shared: true });
}

import type { DevicePtr } from './pointer.js';

/**
 * What a kernel receives as its first argument, inside its device's worker. Views cover
 * this device's memory only; a view not wholly inside one live allocation raises
 * ERR_ILLEGAL_ADDRESS (lengths are in elements).
 */
export interface KernelContext {
  readonly device: number;
  u8(ptr: DevicePtr, length: number): Uint8Array;
  i8(ptr: DevicePtr, length: number): Int8Array;
  u16(ptr: DevicePtr, length: number): Uint16Array;
  i16(ptr: DevicePtr, length: number): Int16Array;
  u32(ptr: DevicePtr, length: number): Uint32Array;
  i32(ptr: DevicePtr, length: number): Int32Array;
  f32(ptr: DevicePtr, length: number): Float32Array;
  f64(ptr: DevicePtr, length: number): Float64Array;
  bigInt64(ptr: DevicePtr, length: number): BigInt64Array;
  bigUint64(ptr: DevicePtr, length: number): BigUint64Array;
}

/** A kernel as written in a module: `export function add(ctx, a, b, out, n) { … }`. */
export type KernelFunction = (ctx: KernelContext, ...args: never[]) => void;

import type { Stream } from './handles.js';

/** launchKernel's third argument when it declares the kernel's accesses (for the stream sanitizer). */
export interface LaunchOptions {
  /** @default the current stream */
  stream?: Stream;
  /** Byte ranges `[ptr, bytes]` the kernel reads. */
  reads?: readonly (readonly [number, number])[];
  /** Byte ranges `[ptr, bytes]` the kernel writes. */
  writes?: readonly (readonly [number, number])[];
}

import type { WaitOptions } from '../runtime/wait-options.js';
import type { KernelSignature, LaunchArgs, Params } from '../protocol/kernel-abi.js';
import type { Generator } from '../integration/random/generator.js';
import type { TensorDevice } from './device.js';
import type { DType } from './dtype.js';
import type { Shape } from './shape.js';
import type { Tensor } from './tensor.js';

/** A tensor's elements seen in another shape: broadcast (stride 0), permuted, or regrouped for a kernel. */
export interface TensorView {
  readonly tensor: Tensor;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
}

/** How an op passes a tensor operand to a kernel: as it is, or as a view of it. */
export type KernelOperand = Tensor | TensorView;

/**
 * The backend interface of one device (`hooks.executor(index)` of a device type): memory,
 * kernels, random fills, reads, copies to and from host memory and between its devices,
 * chunked transfers. Ops, copies, the CPU fallback, save/load and the factories ask it,
 * never a device type by name. openreg's devices (DeviceExecutor), the CPU pool and meta
 * implement it; a backend package returns its own (or `backendApi.hostExecutor`).
 */
export interface Executor {
  readonly device: TensorDevice;
  /** A new contiguous tensor on this executor's device. */
  empty(dtype: DType, shape: Shape): Tensor;
  /** Runs `kernel` on `args` (named by its signature); what it reads and writes follows from the signature. */
  launch<P extends Params>(kernel: KernelSignature<P>, args: LaunchArgs<P, KernelOperand>): void;
  /** Fills contiguous float32/float64 `out` with uniform [0, 1) or standard normal draws from `generator` (the device's by default). */
  fillRandom(out: Tensor, normal: boolean, generator: Generator | undefined): void;
  /** The bytes of contiguous `t` once its values exist (within `options`); rejects if work they depend on failed. */
  /** Bytes the caller owns (never a view of the tensor's storage), in `into` when given. */
  readBytes(call: string, t: Tensor, options: WaitOptions | undefined, into?: Uint8Array): Promise<Uint8Array>;
  /** Writes `bytes` (contiguous `t`'s size) into `t`, done when this returns (a blocking upload); `bytes` may be reused at once. */
  writeBytes(call: string, t: Tensor, bytes: Uint8Array): void;
  /** `readBytes`, blocking (at most `options.timeoutMs`); into `into` when given. */
  readBytesSync(call: string, t: Tensor, into: Uint8Array | undefined, options: Pick<WaitOptions, 'timeoutMs'>): Uint8Array;
  /** Resolves once `t`'s values exist (within `options`). */
  ready(call: string, t: Tensor, options: WaitOptions | undefined): Promise<void>;
  /**
   * Copies contiguous `src` (on this executor's device) into contiguous `dst` in host memory,
   * in stream order: `dst` is busy until the bytes are there, and carries the failure if the work fails.
   */
  copyToHost(call: string, dst: Tensor, src: Tensor): void;
  /**
   * Copies contiguous host tensor `src` into contiguous `dst` on this executor's device, after
   * `src`'s pending work. Unless `nonBlocking`, a source whose values exist is copied by the
   * time this returns (PyTorch's blocking copy); pending CPU work cannot be waited for here.
   */
  copyFromHost(call: string, dst: Tensor, src: Tensor, nonBlocking?: boolean): void;
  /** Copies contiguous `src` on this executor's device into contiguous `dst` on another device of the same backend. */
  peerCopy(call: string, dst: Tensor, src: Tensor): void;
  /** Hands contiguous `t`'s bytes to `sink` a chunk at a time, once they exist (bounded host memory for any size). */
  readChunks(call: string, t: Tensor, sink: (chunk: Uint8Array) => Promise<void>): Promise<void>;
  /** Fills contiguous `t`'s bytes a chunk at a time from `read(into, byteOffset)`. */
  writeChunks(call: string, t: Tensor, read: (into: Uint8Array, byteOffset: number) => Promise<void>): Promise<void>;
}

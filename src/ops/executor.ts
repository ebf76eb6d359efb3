import { invalidValue } from '../errors/errors.js';
import { withinBounds } from '../device/host-waiter.js';
import { type WaitOptions, waitBoundsOf } from '../runtime/wait-options.js';
import { DTypeCode } from '../protocol/tensor-abi.js';
import { ArgumentWords, type OperandLayout, reachOf } from '../protocol/kernel-abi.js';
import type { KernelOperand, TensorView } from '../tensor/backend-executor.js';
import type { Storage } from '../tensor/storage.js';
import { Tensor } from '../tensor/tensor.js';

/** What the executors share: kernel operands as the encoder sees them, host bytes, ordering of host work. */

export type { Executor, KernelOperand, TensorView } from '../tensor/backend-executor.js';

export function viewOf(tensor: Tensor, shape: readonly number[], strides: readonly number[]): TensorView {
  return { tensor, shape, strides };
}

export function tensorOf(o: KernelOperand): Tensor {
  return o instanceof Tensor ? o : o.tensor;
}

/** The encoder's view of kernel operands, given how the executing side addresses a tensor's first element. */
export function operandLayout(ptr: (t: Tensor) => number): OperandLayout<KernelOperand> {
  return {
    dtype: (o) => DTypeCode[tensorOf(o).dtype],
    ptr: (o) => ptr(tensorOf(o)),
    shape: (o) => o.shape,
    strides: (o) => o.strides,
  };
}

/** Argument words of the launch being encoded (launches are synchronous on the main thread). */
export const WORDS = new ArgumentWords();

/** Bytes a chunked transfer moves per step: the most pinned memory a save or load holds. */
export const CHUNK_BYTES = 4 << 20;

/** Bytes of a host tensor's (contiguous) elements. */
export function hostBytes(t: Tensor, call: string): Uint8Array {
  const s = t.storage(call);
  return new Uint8Array(s.buffer!, s.byteOffset + t.storageOffset * t.itemsize, t.numel() * t.itemsize);
}

/** Waits until a host tensor's pending pool work is done (within `options`), then reports its failure if any. */
export async function settled(call: string, t: Tensor, options: WaitOptions | undefined): Promise<void> {
  const s = t.storage(call);
  const bounds = waitBoundsOf(call, options);
  const done = (async () => {
    while (s.busy !== undefined) await s.busy;
  })();
  await (bounds === undefined ? done : withinBounds(done, bounds));
  if (s.failure !== undefined) throw s.failure;
}

export function noData(call: string, t: Tensor): never {
  throw invalidValue(call, 'a meta tensor has no data', t.toString());
}

/** Elements from the first to one past the last element a strided tensor reaches (its strides are non-negative). */
export function span(t: Tensor): number {
  return reachOf(t.shape, t.strides);
}
/** Outputs computed from bytes another device sent depend on that device's work too (reads of them reject if it failed). */
export function carryReceipts(call: string, reads: readonly Tensor[], writes: readonly Tensor[]): void {
  for (const r of reads) {
    const receipts = r.storage(call).receipts;
    if (receipts !== undefined) for (const w of writes) w.storage(call).dependOn(receipts);
  }
}

/** Marks `storage` busy until `task` settles (the task itself waits for what was pending): the next op on it waits for it. */
export function busyUntil(storage: Storage, task: Promise<void>): void {
  storage.busy = task;
  void task.then(() => {
    if (storage.busy === task) storage.busy = undefined;
  });
}

import type { Runtime } from '../api/runtime.js';
import type { WorkReceipt } from '../api/work-receipt.js';
import type { WaitOptions } from '../runtime/wait-options.js';
import { ErrorCode } from '../errors/error-code.js';
import { OpenRegError } from '../errors/openreg-error.js';
import type { DeviceBlock } from '../integration/allocators/caching-allocator.js';
import type { TensorDevice } from './device.js';

/**
 * The memory behind one or more tensors (views share it). On `openreg` a block of the
 * caching device allocator, taken on the device's current stream, so it obeys
 * stream-ordered reuse; on `cpu` a SharedArrayBuffer the CPU pool's threads can read; on
 * `meta` nothing. Freed when the last tensor using it is disposed.
 */
export class Storage {
  readonly device: TensorDevice;
  readonly nbytes: number;
  readonly runtime: Runtime | undefined;
  readonly block: DeviceBlock | undefined;
  /** cpu: the buffer, and where the storage starts in it. */
  readonly buffer: SharedArrayBuffer | undefined;
  readonly byteOffset: number;
  /** cpu: the pinned host block the storage is, if it is one (copies to a device read it directly). */
  readonly pinned: Uint8Array | undefined;
  /**
   * cpu: settles when the CPU-pool work queued on this storage so far has finished (reads
   * and writes alike); undefined when nothing is pending.
   */
  busy: Promise<void> | undefined;
  /** cpu: the error of a pool task that should have written this storage. */
  failure: unknown;
  /**
   * Device: receipts of work on other devices that these bytes came from (peer copies, and the
   * kernels that computed from them). A read rejects if any of that work was skipped by a failed device.
   */
  receipts: WorkReceipt[] | undefined;
  /** Bumped by every op that writes these bytes (a schema's `Tensor(a!)`): autograd checks saved tensors against it. */
  version = 0;
  #refs = 1;
  #onFree: (() => void) | undefined;

  /** @internal */
  constructor(
    device: TensorDevice,
    nbytes: number,
    memory: { runtime?: Runtime; block?: DeviceBlock; buffer?: SharedArrayBuffer; byteOffset?: number; pinned?: Uint8Array; onFree?: () => void },
  ) {
    this.device = device;
    this.nbytes = nbytes;
    this.runtime = memory.runtime;
    this.block = memory.block;
    this.buffer = memory.buffer;
    this.byteOffset = memory.byteOffset ?? 0;
    this.pinned = memory.pinned;
    this.#onFree = memory.onFree;
  }

  /** Device pointer of the first byte (0 when the storage is empty or not on a device). */
  get ptr(): number {
    return this.block?.ptr ?? 0;
  }

  /**
   * Adds the receipts of work these bytes now depend on. Work known to have run is forgotten and
   * a later receipt of a stream replaces an earlier one, so the list stays as short as the streams involved.
   */
  dependOn(receipts: readonly WorkReceipt[] | undefined): void {
    if (receipts === undefined || receipts === this.receipts) return;
    for (const r of receipts) {
      if (r.ran() === true) continue;
      const own = (this.receipts ??= []);
      let covered = false;
      for (let i = own.length - 1; i >= 0; i--) {
        const o = own[i]!;
        if (o.covers(r)) covered = true;
        else if (r.covers(o) || o.ran() === true) own.splice(i, 1);
      }
      if (!covered) own.push(r);
    }
  }

  /** Waits (within `options`) until every depended-on work has an answer: ran, or skipped by a failed device. */
  async settleReceipts(options?: WaitOptions): Promise<void> {
    for (const r of this.receipts ?? []) if (r.ran() === undefined) await r.settle(options);
  }

  /** `settleReceipts`, blocking. */
  settleReceiptsSync(options?: Pick<WaitOptions, 'timeoutMs'>): void {
    for (const r of this.receipts ?? []) if (r.ran() === undefined) r.settleSync(options);
  }

  /** Throws (as `call`) the error of the first depended-on work that a failed device skipped; forgets the work known to have run. */
  checkReceipts(call: string): void {
    const receipts = this.receipts;
    if (receipts === undefined) return;
    for (let i = receipts.length - 1; i >= 0; i--) {
      const ran = receipts[i]!.ran();
      if (ran === true) receipts.splice(i, 1);
      else if (ran === false) throw receipts[i]!.error(call);
    }
    if (receipts.length === 0) this.receipts = undefined;
  }

  get freed(): boolean {
    return this.#refs === 0;
  }

  retain(): void {
    this.#refs++;
  }

  /** True while more than one tensor (a view, say) holds this storage. */
  get shared(): boolean {
    return this.#refs > 1;
  }

  /**
   * Drops one user; the last returns the memory (a device block to its stream's cache). The
   * stream sanitizer's verdict on that free (ERR_DATA_RACE, in throw mode) is thrown, after the free.
   */
  release(): void {
    this.#release(true);
  }

  /** `release` for the garbage-collection backstop: a finalizer must not throw (the sanitizer still records its report). */
  releaseCollected(): void {
    this.#release(false);
  }

  #release(verdicts: boolean): void {
    if (this.#refs === 0 || --this.#refs > 0) return;
    const { runtime, block } = this;
    let race: OpenRegError | undefined;
    // Other failures mean there is nothing left to free: a device reset, a lost device or a closed runtime took the memory.
    try {
      // After a reset the block is gone and its address may belong to a newer allocation: free only a live block.
      if (block !== undefined && runtime !== undefined && !runtime.closed && runtime.cachingAllocator.isLive(block)) runtime.cachingAllocator.free(block, 'dispose');
    } catch (error) {
      if (error instanceof OpenRegError && error.code === ErrorCode.DATA_RACE) race = error;
    }
    try {
      this.#onFree?.();
    } catch {
      // as above
    }
    if (verdicts && race !== undefined) throw race;
  }
}

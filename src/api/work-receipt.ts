import { openRegError } from '../errors/errors.js';
import { ErrorCode } from '../errors/error-code.js';
import { OpenRegError } from '../errors/openreg-error.js';
import type { WaitOptions } from '../runtime/wait-options.js';

/**
 * Proof, checked at read time, that work some bytes depend on ran. Device memory written by a
 * failed device's skipped command keeps its old bytes: a read of anything computed from them
 * must reject instead of returning them.
 */
export interface WorkReceipt {
  /** True once the work ran (and stays true), undefined while it is pending, false if it never will. */
  ran(): boolean | undefined;
  /** The error a read (`readCall`) rejects with when `ran()` is false. */
  error(readCall: string): unknown;
  /** True if this receipt's work running implies `other`'s ran (a later position on the same stream). */
  covers(other: WorkReceipt): boolean;
  /**
   * Resolves once `ran()` has an answer: a read whose own stream is done may still find work
   * on another device pending (a failed device releases waits on it before it skips its
   * queue). Rejects only when `options` end the wait; the work's own failure is `error()`'s.
   */
  settle(options?: WaitOptions): Promise<void>;
  /** `settle`, blocking (at most `options.timeoutMs`). */
  settleSync(options?: Pick<WaitOptions, 'timeoutMs'>): void;
}

/** How a stream receipt waits for its stream (the runtime's synchronize calls on it). */
export interface ReceiptWaits {
  wait(options?: WaitOptions): Promise<void>;
  waitSync(options?: Pick<WaitOptions, 'timeoutMs'>): void;
}

/** A wait that ended by its bounds is the reader's error; any other is the work's, reported by `error()`. */
function boundedOnly(error: unknown): void {
  if (error instanceof OpenRegError && (error.code === ErrorCode.TIMEOUT || error.code === ErrorCode.ABORTED)) throw error;
}

/** What a stream receipt reads of its stream (the device's StreamQueue). */
interface ReceiptStream {
  readonly submitted: number;
  ran(seq: number): boolean | undefined;
}

/** What a stream receipt reads of its device. */
interface ReceiptDevice {
  readonly index: number;
  readonly generation: number;
  error(call: string): OpenRegError | undefined;
}

/** A receipt for the commands enqueued on one stream up to `seq`, in one reset generation of its device. */
export class StreamWorkReceipt implements WorkReceipt {
  readonly #queue: ReceiptStream;
  readonly #device: ReceiptDevice;
  readonly #generation: number;
  readonly #seq: number;
  // Memoized: a confirmed run stays confirmed even if the device is reset later.
  #confirmed = false;

  readonly #waits: ReceiptWaits;

  constructor(queue: ReceiptStream, device: ReceiptDevice, waits: ReceiptWaits) {
    this.#queue = queue;
    this.#device = device;
    this.#waits = waits;
    this.#generation = device.generation;
    this.#seq = queue.submitted;
  }

  ran(): boolean | undefined {
    if (this.#confirmed) return true;
    if (this.#device.generation !== this.#generation) return false;
    const ran = this.#queue.ran(this.#seq);
    if (ran === true) this.#confirmed = true;
    return ran;
  }

  error(readCall: string): OpenRegError {
    const index = this.#device.index;
    if (this.#device.generation === this.#generation) {
      const error = this.#device.error(readCall);
      if (error !== undefined) return error;
    }
    return openRegError('workDropped', { call: readCall, device: index });
  }

  async settle(options?: WaitOptions): Promise<void> {
    if (this.ran() !== undefined) return;
    await this.#waits.wait(options).catch(boundedOnly);
  }

  settleSync(options?: Pick<WaitOptions, 'timeoutMs'>): void {
    if (this.ran() !== undefined) return;
    try {
      this.#waits.waitSync(options);
    } catch (error) {
      boundedOnly(error);
    }
  }

  covers(other: WorkReceipt): boolean {
    return (
      other instanceof StreamWorkReceipt && other.#queue === this.#queue && other.#generation === this.#generation && other.#seq <= this.#seq
    );
  }
}

/** A receipt for a step on the host (a host function on a stream) that can find its own input failed. */
export class HostStepReceipt implements WorkReceipt {
  #outcome: true | { error: unknown } | undefined;

  succeeded(): void {
    this.#outcome = true;
  }

  failed(error: unknown): void {
    this.#outcome = { error };
  }

  ran(): boolean | undefined {
    return this.#outcome === undefined ? undefined : this.#outcome === true;
  }

  error(): unknown {
    return this.#outcome === undefined || this.#outcome === true ? undefined : this.#outcome.error;
  }

  covers(other: WorkReceipt): boolean {
    return other === this;
  }

  // A host step runs on the reading device's own stream: once that stream is done, it has an answer.
  async settle(): Promise<void> {}

  settleSync(): void {}
}

import { SLOTS_SHIFT } from './command.js';
import { RING_MASK, StreamWord, ringI32Base, streamWordIndex } from './layout.js';

/**
 * Drops every command a stream has pending, as if each had completed: the consumer
 * cursor skips to the producer's position. Only the stream's consumer may call this
 * (its worker, or the host once that worker is dead).
 */
export function discardPendingCommands(control: Int32Array, index: number): void {
  const h = streamWordIndex(index, 0);
  const submitted = Atomics.load(control, h + StreamWord.SUBMITTED);
  let completed = Atomics.load(control, h + StreamWord.COMPLETED);
  let slot = Atomics.load(control, h + StreamWord.READ_SLOT);
  const ring = ringI32Base(index);
  while (completed !== submitted) {
    slot = (slot + ((control[ring + ((slot & RING_MASK) << 4)]! >>> SLOTS_SHIFT) & 0xff)) | 0;
    completed = (completed + 1) | 0;
  }
  Atomics.store(control, h + StreamWord.READ_SLOT, slot);
  Atomics.store(control, h + StreamWord.HOST_PENDING, 0);
  Atomics.store(control, h + StreamWord.HOST_DONE, 0);
  Atomics.store(control, h + StreamWord.COMPLETED, completed);
}

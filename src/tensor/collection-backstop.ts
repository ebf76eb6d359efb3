import v8 from 'node:v8';
import vm from 'node:vm';
import { addMemoryReclaimer } from '../integration/allocators/memory-reclaimers.js';
import type { Storage } from './storage.js';

/**
 * The garbage-collection backstop: a tensor collected without dispose() releases its storage.
 * Registered without an unregister token (a token makes registration several times dearer):
 * dispose() empties the tensor's link instead, so the finalizer then finds nothing to release.
 */
export interface StorageLink {
  storage: Storage | undefined;
}

const registry = new FinalizationRegistry<StorageLink>((link) => {
  const storage = link.storage;
  link.storage = undefined;
  storage?.releaseCollected();
});

/**
 * The registered tensors of device memory again, weakly: finalizers run only after the
 * current job, so an allocation that finds its device full forces a collection and releases
 * at once what it took (the reclaimer below). Entries whose storage is gone are pruned as the
 * list doubles.
 */
const registered: { ref: WeakRef<object>; link: StorageLink }[] = [];
let pruneAt = 1024;

function pruneRegistered(): void {
  let kept = 0;
  for (const entry of registered) if (entry.link.storage !== undefined) registered[kept++] = entry;
  registered.length = kept;
  pruneAt = Math.max(1024, 2 * kept);
}

addMemoryReclaimer(() => {
  if (registered.length === 0 || !collectNow()) return false;
  let freed = false;
  for (const { ref, link } of registered) {
    const storage = link.storage;
    if (storage === undefined || ref.deref() !== undefined) continue;
    link.storage = undefined;
    storage.releaseCollected();
    freed = true;
  }
  pruneRegistered();
  return freed;
});

/** Leaves `tensor` (still alive when the job that made it ended) to the collector: its storage is released through `link` once it is collected. */
export function leaveToCollector(tensor: object, link: StorageLink, storage: Storage): void {
  registry.register(tensor, link);
  if (storage.runtime === undefined || storage.nbytes === 0) return;
  registered.push({ ref: new WeakRef(tensor), link });
  if (registered.length >= pruneAt) pruneRegistered();
  // A view left while other tensors share its storage frees nothing when collected: only a sole holder counts.
  if (!storage.shared) noteLeftToCollector(storage.nbytes / storage.runtime.deviceMemoryBytes);
}

/**
 * Device memory the garbage collector does not know of. A tensor dropped without dispose()
 * frees its device memory only when it is collected, and V8 schedules collections by the JS
 * heap, where such a tensor is a few hundred bytes: a loop that drops its temporaries would
 * fill the device long before a collection came. So the backstop asks for a full collection
 * itself once tensors holding half a device's memory have been left to it since the last
 * request. Only a full one: V8's young-generation collections treat WeakRef and
 * FinalizationRegistry targets as live, so they free no tensor (measured: none released
 * after any of them in a training loop).
 */
const SHARE_BEFORE_COLLECTION = 0.5;

let awaiting = 0;
let requested = false;
let collect: (() => void) | null | undefined;

/** V8's collector as a function: the process's `gc` if exposed, else taken from a new context once --expose-gc is set (a flag with no other effect). */
function collector(): (() => void) | null {
  if (collect === undefined) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    try {
      if (typeof exposed === 'function') collect = exposed;
      else {
        v8.setFlagsFromString('--expose-gc');
        collect = vm.runInNewContext('gc') as () => void;
      }
    } catch {
      collect = null;
    }
  }
  return collect;
}

/** Runs a full collection now; false if the collector cannot be called. */
function collectNow(): boolean {
  const gc = collector();
  if (gc === null) return false;
  gc();
  return true;
}

/** Notes a tensor left to the backstop holding `share` of its device's memory; past the threshold, a collection runs after the current job (its finalizers free the memory). */
function noteLeftToCollector(share: number): void {
  awaiting += share;
  if (awaiting < SHARE_BEFORE_COLLECTION || requested) return;
  requested = true;
  awaiting = 0;
  // Unref'd: a pending collection never keeps a finished script alive.
  setTimeout(() => {
    requested = false;
    collectNow();
  }, 0).unref();
}

/**
 * What an allocator that is out of device memory may ask for before it fails: layers above
 * (the tensors' garbage-collection backstop) register a reclaimer that frees memory held only
 * by unreachable objects, synchronously. Each returns true if it freed anything.
 */
const reclaimers: (() => boolean)[] = [];

export function addMemoryReclaimer(reclaim: () => boolean): void {
  reclaimers.push(reclaim);
}

/** Runs every reclaimer; true if any freed memory (the caller then tries again). */
export function reclaimMemory(): boolean {
  let freed = false;
  for (const reclaim of reclaimers) freed = reclaim() || freed;
  return freed;
}

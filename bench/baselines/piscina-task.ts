/** The task piscina runs: nothing (a round trip), or the compute-bound loop of the scaling suite. */
import { burn } from '../kernels.js';

export default function task(iterations: number): number {
  return iterations > 0 ? burn(iterations) : 0;
}

import { openRegError } from '../../errors/errors.js';
import type { Tensor } from '../../tensor/tensor.js';
import { tensor } from '../factories.js';

/**
 * Where a mask is true, for the ops whose result size is the count of true elements (nonzero,
 * maskedSelect, bool-mask indexing). The Promise forms read only the count from the device (as
 * PyTorch syncs) and find the positions there, a stable descending argsort's first `count`.
 */

const nonzeroOf = (mask: Tensor): Tensor => mask.reshape(-1).ne(0);
const firstTrue = (flat: Tensor, count: number): Tensor => flat.argsort(0, true).slice(0, 0, count);

/** Flat (row-major) positions of the true elements of `mask`, in order. */
export async function truePositions(mask: Tensor): Promise<Tensor> {
  const flat = nonzeroOf(mask);
  return firstTrue(flat, Number(await flat.sum().item()));
}

/**
 * The coordinates of the true elements of a bool `mask`, one int64 tensor per dimension on its
 * device, from a blocking read of the mask (t.index with a bool mask is PyTorch's synchronizing
 * t[mask]; a cpu mask must have no pool work pending).
 */
export function trueCoordinatesSync(call: string, mask: Tensor): Tensor[] {
  if (!mask.onDevice && mask.storage(call).busy !== undefined) throw openRegError('maskPending', { call, tensor: mask.toString() });
  const bits = mask.dataSync() as Uint8Array;
  let count = 0;
  for (let i = 0; i < bits.length; i++) if (bits[i] !== 0) count++;
  const columns = mask.shape.map(() => new BigInt64Array(count));
  let row = 0;
  for (let i = 0; i < bits.length; i++) {
    if (bits[i] === 0) continue;
    // Row-major: the last dimension varies fastest.
    let rest = i;
    for (let d = mask.ndim - 1; d >= 0; d--) {
      const n = mask.shape[d]!;
      columns[d]![row] = BigInt(rest % n);
      rest = Math.floor(rest / n);
    }
    row++;
  }
  return columns.map((c) => tensor(c, { dtype: 'int64', device: mask.device }));
}

/** Flat positions in a tensor of `shape` as coordinates, one int64 tensor per dimension (row-major). */
export function coordinatesOf(at: Tensor, shape: readonly number[]): Tensor[] {
  const columns: Tensor[] = [];
  // In float64, exact below 2^53: float32 division would lose the low bits of large positions.
  let rest = at.to('float64');
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d]!;
    const coordinate = rest.remainder(n);
    columns.unshift(coordinate.to('int64'));
    rest = rest.sub(coordinate).div(n);
  }
  return columns;
}

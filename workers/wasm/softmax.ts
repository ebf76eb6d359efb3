// Softmax and log-softmax over the rows of a dense float32 matrix, and softmax's backward.
import { expNonPositiveF32x4, logF32x4 } from './vector-math';
import { maxF32 } from './reductions';

/**
 * Σ e^(x[i] - top) over a dense row; the terms are stored at o unless `store` is false. The max
 * is subtracted exactly as PyTorch's kernels do, and the terms summed in float32 lanes, as
 * its vectorized softmax does (eight partial sums, as an AVX2 vector holds).
 */
// @ts-ignore: decorator
@inline
function expSum(x: usize, o: usize, n: usize, top: f32, store: bool): f32 {
  const shift = f32x4.splat(top);
  let s0 = f32x4.splat(0);
  let s1 = f32x4.splat(0);
  let i: usize = 0;
  for (; i + 8 <= n; i += 8) {
    const e0 = expNonPositiveF32x4(f32x4.sub(v128.load(x + (i << 2)), shift));
    const e1 = expNonPositiveF32x4(f32x4.sub(v128.load(x + (i << 2), 16), shift));
    if (store) {
      v128.store(o + (i << 2), e0);
      v128.store(o + (i << 2), e1, 16);
    }
    s0 = f32x4.add(s0, e0);
    s1 = f32x4.add(s1, e1);
  }
  for (; i + 4 <= n; i += 4) {
    const e = expNonPositiveF32x4(f32x4.sub(v128.load(x + (i << 2)), shift));
    if (store) v128.store(o + (i << 2), e);
    s0 = f32x4.add(s0, e);
  }
  const s = f32x4.add(s0, s1);
  let total = f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + (f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3));
  for (; i < n; i++) {
    const e = expNonPositiveF32x4(f32x4.sub(v128.load32_splat(x + (i << 2)), shift));
    if (store) v128.store32_lane(o + (i << 2), e, 0);
    total += f32x4.extract_lane(e, 0);
  }
  return total;
}

/** o[r, :] = softmax(x[r, :]) (log-softmax when `log`), each row shifted by its max. */
export function softmaxRowsF32(x: usize, o: usize, rows: usize, cols: usize, log: bool): void {
  for (let r: usize = 0; r < rows; r++) {
    const xr = x + r * (cols << 2);
    const or = o + r * (cols << 2);
    // A NaN in the row makes every output NaN, through the shift or through exp.
    const top = maxF32(xr, cols);
    const shift = f32x4.splat(top);
    let i: usize = 0;
    if (log) {
      const total = expSum(xr, 0, cols, top, false);
      // ln of the sum by the vector log: Math.log would bring libm's tables into device memory.
      const sub = f32x4.splat(f32x4.extract_lane(logF32x4(f32x4.splat(total)), 0));
      for (; i + 4 <= cols; i += 4) v128.store(or + (i << 2), f32x4.sub(f32x4.sub(v128.load(xr + (i << 2)), shift), sub));
      for (; i < cols; i++) store<f32>(or + (i << 2), load<f32>(xr + (i << 2)) - top - f32x4.extract_lane(sub, 0));
    } else {
      // Normalized by the reciprocal of the sum, as PyTorch's vectorized softmax does.
      const inv = f32x4.splat(<f32>1 / expSum(xr, or, cols, top, true));
      for (; i + 4 <= cols; i += 4) v128.store(or + (i << 2), f32x4.mul(v128.load(or + (i << 2)), inv));
      for (; i < cols; i++) store<f32>(or + (i << 2), load<f32>(or + (i << 2)) * f32x4.extract_lane(inv, 0));
    }
  }
}

/** o[r, :] = y·(g − Σ g·y) per row: softmax's gradient from its output y and the incoming g. */
export function softmaxBackwardRowsF32(g: usize, y: usize, o: usize, rows: usize, cols: usize): void {
  for (let r: usize = 0; r < rows; r++) {
    const off = r * (cols << 2);
    let d0 = f64x2.splat(0);
    let d1 = f64x2.splat(0);
    let i: usize = 0;
    for (; i + 4 <= cols; i += 4) {
      const p = f32x4.mul(v128.load(g + off + (i << 2)), v128.load(y + off + (i << 2)));
      d0 = f64x2.add(d0, f64x2.promote_low_f32x4(p));
      d1 = f64x2.add(d1, f64x2.promote_low_f32x4(i32x4.shuffle(p, p, 2, 3, 0, 1)));
    }
    const d = f64x2.add(d0, d1);
    let dot = f64x2.extract_lane(d, 0) + f64x2.extract_lane(d, 1);
    for (; i < cols; i++) dot += <f64>(load<f32>(g + off + (i << 2)) * load<f32>(y + off + (i << 2)));
    const s = f32x4.splat(<f32>dot);
    for (i = 0; i + 4 <= cols; i += 4) {
      const yv = v128.load(y + off + (i << 2));
      v128.store(o + off + (i << 2), f32x4.mul(yv, f32x4.sub(v128.load(g + off + (i << 2)), s)));
    }
    for (; i < cols; i++) store<f32>(o + off + (i << 2), load<f32>(y + off + (i << 2)) * (load<f32>(g + off + (i << 2)) - <f32>dot));
  }
}

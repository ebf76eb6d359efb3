// Float32 reductions over dense operands, accumulated in doubles (two f64x2 lanes per
// f32x4), as openreg's JS kernels always have: sums keep float64's accuracy at SIMD speed.

// @ts-ignore: decorator
@inline
function promoteLow(v: v128): v128 {
  return f64x2.promote_low_f32x4(v);
}

// @ts-ignore: decorator
@inline
function promoteHigh(v: v128): v128 {
  return f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1));
}

/** Σ x[i] for i < n, in doubles. */
export function sumF32(x: usize, n: usize): f64 {
  let s0 = f64x2.splat(0);
  let s1 = f64x2.splat(0);
  let s2 = f64x2.splat(0);
  let s3 = f64x2.splat(0);
  let i: usize = 0;
  for (; i + 8 <= n; i += 8) {
    const v = v128.load(x + (i << 2));
    const w = v128.load(x + (i << 2) + 16);
    s0 = f64x2.add(s0, promoteLow(v));
    s1 = f64x2.add(s1, promoteHigh(v));
    s2 = f64x2.add(s2, promoteLow(w));
    s3 = f64x2.add(s3, promoteHigh(w));
  }
  const s = f64x2.add(f64x2.add(s0, s1), f64x2.add(s2, s3));
  let total = f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
  for (; i < n; i++) total += <f64>load<f32>(x + (i << 2));
  return total;
}

/** max x[i] for i < n (-inf for none); NaN wins, as in PyTorch. */
export function maxF32(x: usize, n: usize): f32 {
  return extremeF32(x, n, false);
}

/**
 * The max (or, with `smallest`, the min) of x[i] for i < n (∓inf for none); NaN wins. NaN is
 * tracked apart: pmax and pmin are one instruction each, NaN-propagating max and min are not.
 */
// @ts-ignore: decorator
@inline
export function extremeF32(x: usize, n: usize, smallest: bool): f32 {
  let m0 = f32x4.splat(smallest ? Infinity : -Infinity);
  let m1 = m0;
  let nan = i32x4.splat(0);
  let i: usize = 0;
  for (; i + 8 <= n; i += 8) {
    const v = v128.load(x + (i << 2));
    const w = v128.load(x + (i << 2) + 16);
    m0 = smallest ? f32x4.pmin(m0, v) : f32x4.pmax(m0, v);
    m1 = smallest ? f32x4.pmin(m1, w) : f32x4.pmax(m1, w);
    nan = v128.or(nan, v128.or(f32x4.ne(v, v), f32x4.ne(w, w)));
  }
  if (v128.any_true(nan)) return NaN;
  const m = smallest ? f32x4.pmin(m0, m1) : f32x4.pmax(m0, m1);
  const l0 = f32x4.extract_lane(m, 0);
  const l1 = f32x4.extract_lane(m, 1);
  const l2 = f32x4.extract_lane(m, 2);
  const l3 = f32x4.extract_lane(m, 3);
  let best = smallest ? min(min(l0, l1), min(l2, l3)) : max(max(l0, l1), max(l2, l3));
  // f32.min and f32.max propagate NaN: a NaN in the tail wins too.
  for (; i < n; i++) best = smallest ? min(best, load<f32>(x + (i << 2))) : max(best, load<f32>(x + (i << 2)));
  return best;
}

/** o[r] = Σ_c x[r, c] (times `scale`: 1 for sum, 1/cols for mean), rounded once into float32. */
export function sumRowsF32(x: usize, o: usize, rows: usize, cols: usize, scale: f64): void {
  for (let r: usize = 0; r < rows; r++) store<f32>(o + (r << 2), <f32>(sumF32(x + r * (cols << 2), cols) * scale));
}

/** o[r] = max_c x[r, c]. */
export function maxRowsF32(x: usize, o: usize, rows: usize, cols: usize): void {
  for (let r: usize = 0; r < rows; r++) store<f32>(o + (r << 2), maxF32(x + r * (cols << 2), cols));
}

/** o[c] = Σ_r x[r, c] (times `scale`), in doubles: a reduction over the outer dimension (a bias's gradient). */
export function sumColsF32(x: usize, o: usize, rows: usize, cols: usize, scale: f64): void {
  const stride = cols << 2;
  let c: usize = 0;
  for (; c + 8 <= cols; c += 8) {
    let s0 = f64x2.splat(0);
    let s1 = f64x2.splat(0);
    let s2 = f64x2.splat(0);
    let s3 = f64x2.splat(0);
    let p = x + (c << 2);
    for (let r: usize = 0; r < rows; r++, p += stride) {
      const v = v128.load(p);
      const w = v128.load(p + 16);
      s0 = f64x2.add(s0, promoteLow(v));
      s1 = f64x2.add(s1, promoteHigh(v));
      s2 = f64x2.add(s2, promoteLow(w));
      s3 = f64x2.add(s3, promoteHigh(w));
    }
    const k = f64x2.splat(scale);
    const lo = f32x4.demote_f64x2_zero(f64x2.mul(s0, k));
    const hi = f32x4.demote_f64x2_zero(f64x2.mul(s1, k));
    v128.store(o + (c << 2), i32x4.shuffle(lo, hi, 0, 1, 4, 5));
    const lo2 = f32x4.demote_f64x2_zero(f64x2.mul(s2, k));
    const hi2 = f32x4.demote_f64x2_zero(f64x2.mul(s3, k));
    v128.store(o + (c << 2) + 16, i32x4.shuffle(lo2, hi2, 0, 1, 4, 5));
  }
  for (; c < cols; c++) {
    let s: f64 = 0;
    for (let r: usize = 0; r < rows; r++) s += <f64>load<f32>(x + r * stride + (c << 2));
    store<f32>(o + (c << 2), <f32>(s * scale));
  }
}

// float64: the same reductions on two-lane vectors (four accumulators, then the tail in order).

/** Σ x[i] for i < n, float64. */
export function sumF64(x: usize, n: usize): f64 {
  let s0 = f64x2.splat(0);
  let s1 = f64x2.splat(0);
  let i: usize = 0;
  for (; i + 4 <= n; i += 4) {
    s0 = f64x2.add(s0, v128.load(x + (i << 3)));
    s1 = f64x2.add(s1, v128.load(x + (i << 3) + 16));
  }
  const s = f64x2.add(s0, s1);
  let total = f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
  for (; i < n; i++) total += load<f64>(x + (i << 3));
  return total;
}

/** max x[i] for i < n (-inf for none); NaN wins. */
export function maxF64(x: usize, n: usize): f64 {
  let m = f64x2.splat(-Infinity);
  let i: usize = 0;
  for (; i + 2 <= n; i += 2) m = f64x2.max(m, v128.load(x + (i << 3)));
  let best = max(f64x2.extract_lane(m, 0), f64x2.extract_lane(m, 1));
  for (; i < n; i++) best = max(best, load<f64>(x + (i << 3)));
  return best;
}

/** o[r] = Σ_c x[r, c] · scale. */
export function sumRowsF64(x: usize, o: usize, rows: usize, cols: usize, scale: f64): void {
  for (let r: usize = 0; r < rows; r++) store<f64>(o + (r << 3), sumF64(x + r * (cols << 3), cols) * scale);
}

/** o[r] = max_c x[r, c]. */
export function maxRowsF64(x: usize, o: usize, rows: usize, cols: usize): void {
  for (let r: usize = 0; r < rows; r++) store<f64>(o + (r << 3), maxF64(x + r * (cols << 3), cols));
}

/** o[c] = Σ_r x[r, c] · scale, summed over the rows in order. */
export function sumColsF64(x: usize, o: usize, rows: usize, cols: usize, scale: f64): void {
  const stride = cols << 3;
  let c: usize = 0;
  for (; c + 4 <= cols; c += 4) {
    let s0 = f64x2.splat(0);
    let s1 = f64x2.splat(0);
    let p = x + (c << 3);
    for (let r: usize = 0; r < rows; r++, p += stride) {
      s0 = f64x2.add(s0, v128.load(p));
      s1 = f64x2.add(s1, v128.load(p + 16));
    }
    v128.store(o + (c << 3), f64x2.mul(s0, f64x2.splat(scale)));
    v128.store(o + (c << 3) + 16, f64x2.mul(s1, f64x2.splat(scale)));
  }
  for (; c < cols; c++) {
    let s: f64 = 0;
    for (let r: usize = 0; r < rows; r++) s += load<f64>(x + r * stride + (c << 3));
    store<f64>(o + (c << 3), s * scale);
  }
}

/**
 * Per row of a dense float32 matrix, the max (or, with `smallest`, the min) and the index of
 * its first occurrence, as torch.max(dim) answers: a row with a NaN answers its first NaN.
 * Values go to o (float32), indices to idx (int64).
 */
export function extremeRowsF32(x: usize, o: usize, idx: usize, rows: usize, cols: usize, smallest: bool): void {
  for (let r: usize = 0; r < rows; r++) {
    const row = x + r * (cols << 2);
    const best = extremeF32(row, cols, smallest);
    const hasNaN = best != best;
    // The first element equal to it (or the first NaN), read back so that ±0 keep their sign.
    let at: usize = 0;
    if (hasNaN) {
      while (load<f32>(row + (at << 2)) == load<f32>(row + (at << 2))) at++;
    } else {
      const target = f32x4.splat(best);
      let j: usize = 0;
      let found = false;
      for (; j + 4 <= cols; j += 4) {
        const hits = i32x4.bitmask(f32x4.eq(v128.load(row + (j << 2)), target));
        if (hits != 0) {
          at = j + <usize>ctz(hits);
          found = true;
          break;
        }
      }
      if (!found) {
        at = j;
        while (at < cols - 1 && load<f32>(row + (at << 2)) != best) at++;
      }
    }
    store<f32>(o + (r << 2), load<f32>(row + (at << 2)));
    store<i64>(idx + (r << 3), <i64>at);
  }
}

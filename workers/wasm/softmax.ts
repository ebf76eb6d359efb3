// Softmax and log-softmax over the rows of a dense float32 matrix, and softmax's backward.
import { expF32x4, logF32x4 } from './vector-math';
import { maxF32, sumF32 } from './reductions';

/** o[r, :] = softmax(x[r, :]) (log-softmax when `log`), each row shifted by its max. */
export function softmaxRowsF32(x: usize, o: usize, rows: usize, cols: usize, log: bool): void {
  for (let r: usize = 0; r < rows; r++) {
    const xr = x + r * (cols << 2);
    const or = o + r * (cols << 2);
    const top = maxF32(xr, cols);
    const shift = f32x4.splat(top);
    // o holds e^(x - max) until the row is normalized; its sum is taken in doubles.
    let i: usize = 0;
    for (; i + 4 <= cols; i += 4) v128.store(or + (i << 2), expF32x4(f32x4.sub(v128.load(xr + (i << 2)), shift)));
    for (; i < cols; i++) v128.store32_lane(or + (i << 2), expF32x4(f32x4.sub(v128.load32_splat(xr + (i << 2)), shift)), 0);
    const total = sumF32(or, cols);
    if (log) {
      // ln of the sum by the vector log: Math.log would bring libm's tables into device memory.
      const sub = f32x4.splat(f32x4.extract_lane(logF32x4(f32x4.splat(<f32>total)), 0));
      for (i = 0; i + 4 <= cols; i += 4) v128.store(or + (i << 2), f32x4.sub(f32x4.sub(v128.load(xr + (i << 2)), shift), sub));
      for (; i < cols; i++) store<f32>(or + (i << 2), load<f32>(xr + (i << 2)) - top - f32x4.extract_lane(sub, 0));
    } else {
      const div = f32x4.splat(<f32>total);
      for (i = 0; i + 4 <= cols; i += 4) v128.store(or + (i << 2), f32x4.div(v128.load(or + (i << 2)), div));
      for (; i < cols; i++) store<f32>(or + (i << 2), load<f32>(or + (i << 2)) / f32x4.extract_lane(div, 0));
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

// Matrix products, float32 accumulated in float32 as PyTorch's CPU GEMM does (float64 in
// float64). C (n×m) is dense; strides are in elements. Blocked for the caches: a KC×NC panel
// of B, packed, stays in L2 while every 4-row strip of A, packed with its rows interleaved,
// streams through it, 4×8 (float64: 4×4) outputs in registers.
// matmulF32's workspace is one packed KC×NC panel of B (128 KiB) and a strip of A (2 KiB); matmulHalf's grows with k
// (matmulHalfWorkspace): both within KERNEL_WORKSPACE_BYTES (src/protocol/wasm-memory.ts) for k ≤ 8,000.
import { bfloat16ToF32, f32ToBfloat16, f32ToFloat16, float16ToF32 } from './half';

// @ts-ignore: decorator
@inline const KC: usize = 128;
// @ts-ignore: decorator
@inline const NC: usize = 256;

/**
 * C = A·B for any strides of A and B: A(i, p) is at a + 4·(i·aRow + p·aCol), B(p, j) at
 * b + 4·(p·bRow + j·bCol). Each KC×NC panel of B is first copied into `work` as 8-column
 * slivers (KC·NC·4 bytes), so the inner loop reads B sequentially whatever its layout (a
 * transposed B, as in x·Wᵀ, is gathered column by column; a power-of-two row stride would
 * alias in the caches).
 */
export function matmulF32(a: usize, b: usize, c: usize, n: usize, k: usize, m: usize, aRow: usize, aCol: usize, bRow: usize, bCol: usize, work: usize): void {
  matmulPacked<f32>(a, b, c, n, k, m, aRow, aCol, bRow, bCol, work);
}

/** matmulF32 over float64 (4-column slivers of two f64x2): each output sums in index order, as JavaScript's doubles do. */
export function matmulF64(a: usize, b: usize, c: usize, n: usize, k: usize, m: usize, aRow: usize, aCol: usize, bRow: usize, bCol: usize, work: usize): void {
  matmulPacked<f64>(a, b, c, n, k, m, aRow, aCol, bRow, bCol, work);
}

// @ts-ignore: decorator
@inline
function splatAt<T>(p: usize): v128 {
  // One load-and-splat instruction, not a load then a splat.
  if (sizeof<T>() == 4) return v128.load32_splat(p);
  return v128.load64_splat(p);
}

// @ts-ignore: decorator
@inline
function madd<T>(acc: v128, x: v128, y: v128): v128 {
  return v128.add<T>(acc, v128.mul<T>(x, y));
}

/** The blocked product over lanes of T: slivers of W = 2·lanes columns (32 bytes a row), 4 rows of A at a time. */
// @ts-ignore: decorator
@inline
function matmulPacked<T>(a: usize, b: usize, c: usize, n: usize, k: usize, m: usize, aRow: usize, aCol: usize, bRow: usize, bCol: usize, work: usize): void {
  const E = sizeof<T>();
  const W: usize = 32 / E;
  if (k == 0) {
    memory.fill(c, 0, n * m * E);
    return;
  }
  for (let jc: usize = 0; jc < m; jc += NC) {
    const jEnd = min(jc + NC, m);
    const slivers = (jEnd - jc) / W;
    const jPacked = jc + slivers * W;
    for (let pc: usize = 0; pc < k; pc += KC) {
      const pEnd = min(pc + KC, k);
      const kc = pEnd - pc;
      const first = pc == 0;
      for (let s: usize = 0; s < slivers; s++) {
        const to = work + s * (kc << 5);
        if (bCol == 1) {
          let from = b + (pc * bRow + jc + s * W) * E;
          for (let p: usize = 0, t = to; p < kc; p++, from += bRow * E, t += 32) {
            v128.store(t, v128.load(from));
            v128.store(t + 16, v128.load(from + 16));
          }
        } else {
          // Gathered a column at a time: a transposed B's columns are its dense runs.
          for (let q: usize = 0; q < W; q++) {
            let from = b + (pc * bRow + (jc + s * W + q) * bCol) * E;
            for (let p: usize = 0, t = to + q * E; p < kc; p++, from += bRow * E, t += 32) store<T>(t, load<T>(from));
          }
        }
      }
      // Each 4-row strip of A, interleaved (A(i..i+3, p) adjacent), so the tile reads A through one pointer.
      const strip = work + slivers * (kc << 5);
      let i: usize = 0;
      for (; i + 4 <= n; i += 4) {
        if (slivers > 0) {
          const a0 = a + (i * aRow + pc * aCol) * E;
          for (let r: usize = 0; r < 4; r++) {
            let from = a0 + r * aRow * E;
            for (let p: usize = 0, t = strip + r * E; p < kc; p++, from += aCol * E, t += 4 * E) store<T>(t, load<T>(from));
          }
        }
        const c0 = c + i * m * E;
        const c1 = c0 + m * E;
        const c2 = c1 + m * E;
        const c3 = c2 + m * E;
        for (let s: usize = 0; s < slivers; s++) {
          const jo = (jc + s * W) * E;
          tile4<T>(strip, work + s * (kc << 5), kc, c0 + jo, c1 + jo, c2 + jo, c3 + jo, first);
        }
        for (let r: usize = 0; r < 4; r++) rowTail<T>(a + (i + r) * aRow * E, b, c + (i + r) * m * E, jPacked, jEnd, pc, pEnd, aCol, bRow, bCol, first);
      }
      for (; i < n; i++) rowTail<T>(a + i * aRow * E, b, c + i * m * E, jc, jEnd, pc, pEnd, aCol, bRow, bCol, first);
    }
  }
}

/**
 * The register tile: rows c0…c3 of C, 2·lanes columns each (32 bytes), plus (or, when `first`,
 * set to) Σ_p A(r, p)·B(p, ·) over kc rows of a packed sliver of B at bp (32 bytes a row);
 * A(r, p) is at ap + (4p + r)·sizeof<T> (a packed strip: one pointer and constant offsets
 * leave the loop's few integer instructions off the ports the arithmetic needs, 1.45× faster).
 */
// @ts-ignore: decorator
@inline
function tile4<T>(ap: usize, bp: usize, kc: usize, c0: usize, c1: usize, c2: usize, c3: usize, first: bool): void {
  const E = sizeof<T>();
  let x00 = first ? v128.splat<T>(0) : v128.load(c0);
  let x01 = first ? v128.splat<T>(0) : v128.load(c0 + 16);
  let x10 = first ? v128.splat<T>(0) : v128.load(c1);
  let x11 = first ? v128.splat<T>(0) : v128.load(c1 + 16);
  let x20 = first ? v128.splat<T>(0) : v128.load(c2);
  let x21 = first ? v128.splat<T>(0) : v128.load(c2 + 16);
  let x30 = first ? v128.splat<T>(0) : v128.load(c3);
  let x31 = first ? v128.splat<T>(0) : v128.load(c3 + 16);
  const end = bp + (kc << 5);
  for (; bp < end; bp += 32, ap += 4 * E) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    const v0 = sizeof<T>() == 4 ? v128.load32_splat(ap) : v128.load64_splat(ap);
    x00 = madd<T>(x00, v0, b0);
    x01 = madd<T>(x01, v0, b1);
    const v1 = sizeof<T>() == 4 ? v128.load32_splat(ap, 4) : v128.load64_splat(ap, 8);
    x10 = madd<T>(x10, v1, b0);
    x11 = madd<T>(x11, v1, b1);
    const v2 = sizeof<T>() == 4 ? v128.load32_splat(ap, 8) : v128.load64_splat(ap, 16);
    x20 = madd<T>(x20, v2, b0);
    x21 = madd<T>(x21, v2, b1);
    const v3 = sizeof<T>() == 4 ? v128.load32_splat(ap, 12) : v128.load64_splat(ap, 24);
    x30 = madd<T>(x30, v3, b0);
    x31 = madd<T>(x31, v3, b1);
  }
  v128.store(c0, x00);
  v128.store(c0 + 16, x01);
  v128.store(c1, x10);
  v128.store(c1 + 16, x11);
  v128.store(c2, x20);
  v128.store(c2 + 16, x21);
  v128.store(c3, x30);
  v128.store(c3 + 16, x31);
}

/** One output row's columns [j0, j1) over p in [p0, p1), a vector of columns at a time (B's rows dense), then one. */
function rowTail<T>(ai: usize, b: usize, ci: usize, j0: usize, j1: usize, p0: usize, p1: usize, aCol: usize, bRow: usize, bCol: usize, first: bool): void {
  const E = sizeof<T>();
  const L: usize = 16 / E;
  let j = j0;
  for (; bCol == 1 && j + L <= j1; j += L) {
    let x = first ? v128.splat<T>(0) : v128.load(ci + j * E);
    for (let p = p0; p < p1; p++) x = madd<T>(x, splatAt<T>(ai + p * aCol * E), v128.load(b + (p * bRow + j) * E));
    v128.store(ci + j * E, x);
  }
  for (; j < j1; j++) {
    let x: T = first ? <T>0 : load<T>(ci + j * E);
    for (let p = p0; p < p1; p++) x += load<T>(ai + p * aCol * E) * load<T>(b + (p * bRow + j * bCol) * E);
    store<T>(ci + j * E, x);
  }
}

// @ts-ignore: decorator
@inline const JB: usize = 64;

// @ts-ignore: decorator
@inline
function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/**
 * C = A·B where A's rows and B's columns are dense (B is a transposed matrix, as in x·Wᵀ):
 * A(i, p) at a + 4·(i·aRow + p), B(p, j) at b + 4·(j·bCol + p). Each output is a dot product
 * of two dense vectors, 2×4 of them at a time.
 */
export function matmulTransposedF32(a: usize, b: usize, c: usize, n: usize, k: usize, m: usize, aRow: usize, bCol: usize): void {
  const k4 = k & ~(<usize>3);
  for (let jb: usize = 0; jb < m; jb += JB) {
    const jEnd = min(jb + JB, m);
    let i: usize = 0;
    for (; i + 2 <= n; i += 2) {
      const a0 = a + ((i * aRow) << 2);
      const a1 = a0 + (aRow << 2);
      let j = jb;
      for (; j + 4 <= jEnd; j += 4) {
        const b0 = b + ((j * bCol) << 2);
        const b1 = b0 + (bCol << 2);
        const b2 = b1 + (bCol << 2);
        const b3 = b2 + (bCol << 2);
        let x00 = f32x4.splat(0), x01 = f32x4.splat(0), x02 = f32x4.splat(0), x03 = f32x4.splat(0);
        let x10 = f32x4.splat(0), x11 = f32x4.splat(0), x12 = f32x4.splat(0), x13 = f32x4.splat(0);
        for (let p: usize = 0; p < k4; p += 4) {
          const po = p << 2;
          const u = v128.load(a0 + po);
          const v = v128.load(a1 + po);
          const w0 = v128.load(b0 + po);
          x00 = f32x4.add(x00, f32x4.mul(u, w0));
          x10 = f32x4.add(x10, f32x4.mul(v, w0));
          const w1 = v128.load(b1 + po);
          x01 = f32x4.add(x01, f32x4.mul(u, w1));
          x11 = f32x4.add(x11, f32x4.mul(v, w1));
          const w2 = v128.load(b2 + po);
          x02 = f32x4.add(x02, f32x4.mul(u, w2));
          x12 = f32x4.add(x12, f32x4.mul(v, w2));
          const w3 = v128.load(b3 + po);
          x03 = f32x4.add(x03, f32x4.mul(u, w3));
          x13 = f32x4.add(x13, f32x4.mul(v, w3));
        }
        const c0 = c + ((i * m + j) << 2);
        const c1 = c0 + (m << 2);
        store<f32>(c0, hsum(x00) + dotTail(a0, b0, k4, k));
        store<f32>(c0 + 4, hsum(x01) + dotTail(a0, b1, k4, k));
        store<f32>(c0 + 8, hsum(x02) + dotTail(a0, b2, k4, k));
        store<f32>(c0 + 12, hsum(x03) + dotTail(a0, b3, k4, k));
        store<f32>(c1, hsum(x10) + dotTail(a1, b0, k4, k));
        store<f32>(c1 + 4, hsum(x11) + dotTail(a1, b1, k4, k));
        store<f32>(c1 + 8, hsum(x12) + dotTail(a1, b2, k4, k));
        store<f32>(c1 + 12, hsum(x13) + dotTail(a1, b3, k4, k));
      }
      for (; j < jEnd; j++) {
        const bj = b + ((j * bCol) << 2);
        store<f32>(c + ((i * m + j) << 2), dot(a0, bj, k4, k));
        store<f32>(c + (((i + 1) * m + j) << 2), dot(a1, bj, k4, k));
      }
    }
    for (; i < n; i++) {
      const ai = a + ((i * aRow) << 2);
      for (let j = jb; j < jEnd; j++) store<f32>(c + ((i * m + j) << 2), dot(ai, b + ((j * bCol) << 2), k4, k));
    }
  }
}

/** Σ x[p]·y[p] over dense vectors, in the same lane order as the 2×4 block. */
function dot(x: usize, y: usize, k4: usize, k: usize): f32 {
  let s = f32x4.splat(0);
  for (let p: usize = 0; p < k4; p += 4) s = f32x4.add(s, f32x4.mul(v128.load(x + (p << 2)), v128.load(y + (p << 2))));
  return hsum(s) + dotTail(x, y, k4, k);
}

// @ts-ignore: decorator
@inline
function dotTail(x: usize, y: usize, p0: usize, k: usize): f32 {
  let s: f32 = 0;
  for (let p = p0; p < k; p++) s += load<f32>(x + (p << 2)) * load<f32>(y + (p << 2));
  return s;
}

// @ts-ignore: decorator
@inline
function halfToF32(bits: u32, bf16: bool): f32 {
  return bf16 ? bfloat16ToF32(bits) : float16ToF32(bits);
}

/** Bytes of workspace matmulHalf needs for depth k: a k×NC panel of B, a 4×k strip of A and a 4×8 tile of C, as float32. */
export function matmulHalfWorkspace(k: usize): usize {
  return (NC >> 3) * (k << 5) + (k << 4) + 128;
}

/**
 * C = A·B over float16 (bf16 false) or bfloat16 operands, strided (in elements), accumulated
 * in float32 and rounded once into C (dense), as autocast's lower-precision matmul needs. A
 * k×NC panel of B and each 4-row strip of A are converted into `work` first
 * (matmulHalfWorkspace(k) bytes); columns past m are zero padding.
 */
export function matmulHalf(a: usize, b: usize, c: usize, n: usize, k: usize, m: usize, aRow: usize, aCol: usize, bRow: usize, bCol: usize, work: usize, bf16: bool): void {
  for (let jc: usize = 0; jc < m; jc += NC) {
    const jEnd = min(jc + NC, m);
    const slivers = (jEnd - jc + 7) >> 3;
    for (let s: usize = 0; s < slivers; s++) {
      for (let p: usize = 0; p < k; p++) {
        const to = work + s * (k << 5) + (p << 5);
        for (let t: usize = 0; t < 8; t++) {
          const j = jc + (s << 3) + t;
          store<f32>(to + (t << 2), j < m ? halfToF32(load<u16>(b + ((p * bRow + j * bCol) << 1)), bf16) : 0);
        }
      }
    }
    const strip = work + slivers * (k << 5);
    // The four float32 rows of a C tile, rounded into C once complete.
    const tile = strip + (k << 4);
    for (let i: usize = 0; i < n; i += 4) {
      const rows = min(<usize>4, n - i);
      for (let r: usize = 0; r < 4; r++) {
        const row = i + (r < rows ? r : 0);
        for (let p: usize = 0; p < k; p++) store<f32>(strip + ((p * 4 + r) << 2), halfToF32(load<u16>(a + ((row * aRow + p * aCol) << 1)), bf16));
      }
      for (let s: usize = 0; s < slivers; s++) {
        tile4<f32>(strip, work + s * (k << 5), k, tile, tile + 32, tile + 64, tile + 96, true);
        const j0 = jc + (s << 3);
        for (let r: usize = 0; r < rows; r++) storeHalfTile(c + (((i + r) * m + j0) << 1), v128.load(tile + (r << 5)), v128.load(tile + (r << 5) + 16), j0, m, bf16);
      }
    }
  }
}

/** Rounds the 8 float32 lanes of (lo, hi) into the half-precision columns j0… of one row of C that exist. */
function storeHalfTile(to: usize, lo: v128, hi: v128, j0: usize, m: usize, bf16: bool): void {
  const count = min(<usize>8, m - j0);
  for (let t: usize = 0; t < count; t++) {
    const v = t < 4 ? laneOf(lo, t) : laneOf(hi, t - 4);
    store<u16>(to + (t << 1), bf16 ? f32ToBfloat16(v) : f32ToFloat16(v));
  }
}

// @ts-ignore: decorator
@inline
function laneOf(v: v128, t: usize): f32 {
  if (t == 0) return f32x4.extract_lane(v, 0);
  if (t == 1) return f32x4.extract_lane(v, 1);
  if (t == 2) return f32x4.extract_lane(v, 2);
  return f32x4.extract_lane(v, 3);
}

// Float32 matrix products, accumulated in float32 as PyTorch's CPU GEMM does. C (n×m) is
// dense; strides are in elements. Blocked for the caches: a KC×NC panel of B, packed, stays in
// L2 while every 4-row strip of A streams through it, 4×8 outputs in registers.
// Its workspace is one packed KC×NC panel of B, 128 KiB: within KERNEL_WORKSPACE_BYTES
// (src/protocol/wasm-memory.ts).

// @ts-ignore: decorator
@inline const KC: usize = 128;
// @ts-ignore: decorator
@inline const NC: usize = 256;

/**
 * C = A·B where B's rows are dense (its column stride is 1): A(i, p) is at
 * a + 4·(i·aRow + p·aCol), B(p, j) at b + 4·(p·bRow + j). Each KC×NC panel of B is first
 * copied into `work` as 8-column slivers (KC·NC·4 bytes), so the inner loop reads B
 * sequentially whatever its row stride (a power-of-two stride would alias in the caches).
 */
export function matmulF32(a: usize, b: usize, c: usize, n: usize, k: usize, m: usize, aRow: usize, aCol: usize, bRow: usize, work: usize): void {
  if (k == 0) {
    memory.fill(c, 0, (n * m) << 2);
    return;
  }
  for (let jc: usize = 0; jc < m; jc += NC) {
    const jEnd = min(jc + NC, m);
    const slivers = (jEnd - jc) >> 3;
    const jPacked = jc + (slivers << 3);
    for (let pc: usize = 0; pc < k; pc += KC) {
      const pEnd = min(pc + KC, k);
      const kc = pEnd - pc;
      const first = pc == 0;
      for (let s: usize = 0; s < slivers; s++) {
        let from = b + ((pc * bRow + jc + (s << 3)) << 2);
        let to = work + s * (kc << 5);
        for (let p: usize = 0; p < kc; p++, from += bRow << 2, to += 32) {
          v128.store(to, v128.load(from));
          v128.store(to + 16, v128.load(from + 16));
        }
      }
      let i: usize = 0;
      for (; i + 4 <= n; i += 4) {
        const a0 = a + ((i * aRow + pc * aCol) << 2);
        const a1 = a0 + (aRow << 2);
        const a2 = a1 + (aRow << 2);
        const a3 = a2 + (aRow << 2);
        const c0 = c + ((i * m) << 2);
        const c1 = c0 + (m << 2);
        const c2 = c1 + (m << 2);
        const c3 = c2 + (m << 2);
        for (let s: usize = 0; s < slivers; s++) {
          const jo = (jc + (s << 3)) << 2;
          let x00 = first ? f32x4.splat(0) : v128.load(c0 + jo);
          let x01 = first ? f32x4.splat(0) : v128.load(c0 + jo + 16);
          let x10 = first ? f32x4.splat(0) : v128.load(c1 + jo);
          let x11 = first ? f32x4.splat(0) : v128.load(c1 + jo + 16);
          let x20 = first ? f32x4.splat(0) : v128.load(c2 + jo);
          let x21 = first ? f32x4.splat(0) : v128.load(c2 + jo + 16);
          let x30 = first ? f32x4.splat(0) : v128.load(c3 + jo);
          let x31 = first ? f32x4.splat(0) : v128.load(c3 + jo + 16);
          let bp = work + s * (kc << 5);
          let ap: usize = 0;
          for (let p: usize = 0; p < kc; p++, bp += 32, ap += aCol << 2) {
            const b0 = v128.load(bp);
            const b1 = v128.load(bp + 16);
            const v0 = v128.load32_splat(a0 + ap);
            x00 = f32x4.add(x00, f32x4.mul(v0, b0));
            x01 = f32x4.add(x01, f32x4.mul(v0, b1));
            const v1 = v128.load32_splat(a1 + ap);
            x10 = f32x4.add(x10, f32x4.mul(v1, b0));
            x11 = f32x4.add(x11, f32x4.mul(v1, b1));
            const v2 = v128.load32_splat(a2 + ap);
            x20 = f32x4.add(x20, f32x4.mul(v2, b0));
            x21 = f32x4.add(x21, f32x4.mul(v2, b1));
            const v3 = v128.load32_splat(a3 + ap);
            x30 = f32x4.add(x30, f32x4.mul(v3, b0));
            x31 = f32x4.add(x31, f32x4.mul(v3, b1));
          }
          v128.store(c0 + jo, x00);
          v128.store(c0 + jo + 16, x01);
          v128.store(c1 + jo, x10);
          v128.store(c1 + jo + 16, x11);
          v128.store(c2 + jo, x20);
          v128.store(c2 + jo + 16, x21);
          v128.store(c3 + jo, x30);
          v128.store(c3 + jo + 16, x31);
        }
        for (let r: usize = 0; r < 4; r++) rowTail(a + (((i + r) * aRow) << 2), b, c + (((i + r) * m) << 2), jPacked, jEnd, pc, pEnd, aCol, bRow, first);
      }
      for (; i < n; i++) rowTail(a + ((i * aRow) << 2), b, c + ((i * m) << 2), jc, jEnd, pc, pEnd, aCol, bRow, first);
    }
  }
}

/** One output row's columns [j0, j1) over p in [p0, p1), four columns at a time, then one. */
function rowTail(ai: usize, b: usize, ci: usize, j0: usize, j1: usize, p0: usize, p1: usize, aCol: usize, bRow: usize, first: bool): void {
  let j = j0;
  for (; j + 4 <= j1; j += 4) {
    let x = first ? f32x4.splat(0) : v128.load(ci + (j << 2));
    for (let p = p0; p < p1; p++) x = f32x4.add(x, f32x4.mul(v128.load32_splat(ai + ((p * aCol) << 2)), v128.load(b + ((p * bRow + j) << 2))));
    v128.store(ci + (j << 2), x);
  }
  for (; j < j1; j++) {
    let x: f32 = first ? 0 : load<f32>(ci + (j << 2));
    for (let p = p0; p < p1; p++) x += load<f32>(ai + ((p * aCol) << 2)) * load<f32>(b + ((p * bRow + j) << 2));
    store<f32>(ci + (j << 2), x);
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

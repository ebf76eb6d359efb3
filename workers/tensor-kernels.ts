/**
 * The elementwise and reduction tensor kernels: strided, broadcasting, dtype-converting
 * loops. The same functions run in the device workers (pointers into device memory) and in
 * the CPU pool (pointers into the task's buffers): one definition of every op's arithmetic.
 * Values are computed in doubles and rounded once into the output's dtype.
 */
import { ABSENT_OPERAND, type TensorArg, isDenseOver, typedKernel } from '../src/protocol/kernel-abi.js';
import { BinaryOp, DTYPE_CODE_ITEMSIZE, DTypeCode, ReduceOp, SCALAR_OPERAND, UnaryOp } from '../src/protocol/tensor-abi.js';
import { TensorKernel } from '../src/protocol/tensor-kernel-signatures.js';
import { Rows, int64At, operand, stridesIn } from './tensor-operands.js';
import { binarySimd, compareSimd, denseAs, reduceSimd, unarySimd } from './simd-paths.js';
import { erf, gelu, geluBackward, geluTanh, geluTanhBackward, remainder, roundHalfEven, silu, siluBackward } from './special-functions.js';

const UNARY: Record<number, (x: number) => number> = {
  [UnaryOp.identity]: (x) => x,
  [UnaryOp.neg]: (x) => -x,
  [UnaryOp.abs]: Math.abs,
  [UnaryOp.exp]: Math.exp,
  [UnaryOp.relu]: (x) => (x > 0 ? x : Number.isNaN(x) ? x : 0),
  [UnaryOp.log]: Math.log,
  [UnaryOp.sqrt]: Math.sqrt,
  [UnaryOp.tanh]: Math.tanh,
  [UnaryOp.sigmoid]: (x) => 1 / (1 + Math.exp(-x)),
  [UnaryOp.reluGrad]: (x) => (x > 0 ? 1 : 0),
  [UnaryOp.log1p]: Math.log1p,
  [UnaryOp.expm1]: Math.expm1,
  [UnaryOp.erf]: erf,
  [UnaryOp.floor]: Math.floor,
  [UnaryOp.ceil]: Math.ceil,
  [UnaryOp.round]: roundHalfEven,
  [UnaryOp.trunc]: Math.trunc,
  // NaN has sign 0 in PyTorch.
  [UnaryOp.sign]: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0),
  [UnaryOp.reciprocal]: (x) => 1 / x,
  [UnaryOp.rsqrt]: (x) => 1 / Math.sqrt(x),
  [UnaryOp.gelu]: gelu,
  [UnaryOp.geluTanh]: geluTanh,
  [UnaryOp.silu]: silu,
  [UnaryOp.isnan]: (x) => (Number.isNaN(x) ? 1 : 0),
  [UnaryOp.isfinite]: (x) => (Number.isFinite(x) ? 1 : 0),
  [UnaryOp.logicalNot]: (x) => (x === 0 ? 1 : 0),
};

const BINARY: Record<number, (x: number, y: number) => number> = {
  [BinaryOp.add]: (x, y) => x + y,
  [BinaryOp.sub]: (x, y) => x - y,
  [BinaryOp.mul]: (x, y) => x * y,
  [BinaryOp.div]: (x, y) => x / y,
  [BinaryOp.eq]: (x, y) => (x === y ? 1 : 0),
  [BinaryOp.ne]: (x, y) => (x !== y ? 1 : 0),
  [BinaryOp.lt]: (x, y) => (x < y ? 1 : 0),
  [BinaryOp.le]: (x, y) => (x <= y ? 1 : 0),
  [BinaryOp.gt]: (x, y) => (x > y ? 1 : 0),
  [BinaryOp.ge]: (x, y) => (x >= y ? 1 : 0),
  [BinaryOp.maximum]: (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : Math.max(x, y)),
  [BinaryOp.minimum]: (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : Math.min(x, y)),
  [BinaryOp.pow]: Math.pow,
  [BinaryOp.thresholdBackward]: (g, x) => (x > 0 ? g : 0),
  [BinaryOp.hypot]: Math.hypot,
  [BinaryOp.remainder]: remainder,
  [BinaryOp.fmod]: (x, y) => x % y,
  // NaN counts as true, as C's truthiness does.
  [BinaryOp.logicalAnd]: (x, y) => (x !== 0 && y !== 0 ? 1 : 0),
  [BinaryOp.logicalOr]: (x, y) => (x !== 0 || y !== 0 ? 1 : 0),
  [BinaryOp.logicalXor]: (x, y) => ((x !== 0) !== (y !== 0) ? 1 : 0),
  [BinaryOp.geluBackward]: geluBackward,
  [BinaryOp.geluTanhBackward]: geluTanhBackward,
  [BinaryOp.siluBackward]: siluBackward,
};

/** out = op(x), elementwise, strided; `identity` is a copy with a dtype conversion. */
export const tensorUnary = typedKernel(TensorKernel.unary, (_ctx, { op, out, x }) => {
  if (unarySimd(op, out, x) || (op === UnaryOp.identity && x.dtype === out.dtype && copyRows(out, x))) return;
  const fn = UNARY[op]!;
  const rows = new Rows(out.shape, [out.strides, x.strides]);
  if (!rows.nonEmpty) return;
  const o = operand(out);
  const i = operand(x);
  rows.reset();
  const n = rows.length;
  const io = rows.inner[0]!;
  const ii = rows.inner[1]!;
  do {
    let po = rows.base[0]!;
    let pi = rows.base[1]!;
    for (let j = 0; j < n; j++, po += io, pi += ii) o.set(po, fn(i.get(pi)));
  } while (rows.next());
});

/** The elements of a tensor argument as raw bits of their size (a copy within one dtype converts nothing). */
function rawElements(t: TensorArg): Uint8Array | Uint16Array | Uint32Array | BigUint64Array | undefined {
  const { memory, byteOffset: at, reach: n } = t;
  switch (DTYPE_CODE_ITEMSIZE[t.dtype]) {
    case 1:
      return new Uint8Array(memory, at, n);
    case 2:
      return new Uint16Array(memory, at, n);
    case 4:
      return new Uint32Array(memory, at, n);
    case 8:
      return new BigUint64Array(memory, at, n);
    default:
      return undefined;
  }
}

/**
 * A copy within one dtype into an out whose rows are dense, from rows that are dense or one
 * repeated element (an expand() being materialized, as sum's backward does): one set or
 * fill per row instead of an access per element. Other layouts (a transpose) return false.
 */
function copyRows(out: TensorArg, x: TensorArg): boolean {
  const rows = new Rows(out.shape, [out.strides, x.strides]);
  const repeated = rows.inner[1] === 0;
  if (!rows.nonEmpty || rows.inner[0] !== 1 || (rows.inner[1] !== 1 && !repeated)) return false;
  // Both views have the same element type: the casts only name one of them for the compiler.
  const o = rawElements(out) as Uint32Array | undefined;
  const s = rawElements(x) as Uint32Array | undefined;
  if (o === undefined || s === undefined) return false;
  const n = rows.length;
  // Every row the same (a scalar or a row broadcast into a dense out): one fill, or the first row doubled by memmove.
  const total = out.numel;
  if (isDenseOver(out.shape, out.strides) && x.strides.every((stride, d) => d === x.ndim - 1 || stride === 0 || x.shape[d] === 1)) {
    if (repeated) {
      o.fill(s[0]!, 0, total);
      return true;
    }
    o.set(s.subarray(0, n), 0);
    for (let filled = n; filled < total; filled *= 2) o.copyWithin(filled, 0, Math.min(filled, total - filled));
    return true;
  }
  rows.reset();
  // Short rows (a permuted window, say) element by element: a subarray per row would allocate.
  const short = n < 64;
  do {
    const po = rows.base[0]!;
    const px = rows.base[1]!;
    if (repeated) o.fill(s[px]!, po, po + n);
    else if (short) for (let j = 0; j < n; j++) o[po + j] = s[px + j]!;
    else o.set(s.subarray(px, px + n), po);
  } while (rows.next());
  return true;
}

/** tensorUnary over dense operands of one float dtype, as flat arrays (the host chose it). */
export const tensorUnaryContiguous = typedKernel(TensorKernel.unaryContiguous, (_ctx, { op, out, x }) => {
  if (unarySimd(op, out, x)) return;
  const o = operand(out).plain;
  const i = operand(x).plain;
  if (o === undefined || i === undefined) return;
  const n = out.numel;
  if (op === UnaryOp.identity) o.set(i.subarray(0, n));
  else {
    const fn = UNARY[op]!;
    for (let j = 0; j < n; j++) o[j] = fn(i[j]!);
  }
});

/** out = op(a, alpha·b) for add and sub (alpha is 1 otherwise), broadcast through strides (0 on expanded dims). */
export const tensorBinary = typedKernel(TensorKernel.binary, (_ctx, { op, out, a, b, alpha }) => {
  if (binarySimd(op, out, a, b, alpha) || compareSimd(op, out, a, b) || denseComparison(op, out, a, b)) return;
  const ndim = out.ndim;
  const rows = new Rows(out.shape, [out.strides, a.strides, stridesIn(b, ndim)]);
  if (!rows.nonEmpty) return;
  const o = operand(out);
  const x = operand(a);
  const y = operand(b);
  const scaled = (op === BinaryOp.add || op === BinaryOp.sub) && alpha !== 1;
  const fn = BINARY[op]!;
  // int32 products wrap as in C; a double would lose their low bits first.
  const integral = out.dtype === DTypeCode.int32 && op === BinaryOp.mul;
  rows.reset();
  const n = rows.length;
  const [io, ia, ib] = rows.inner as unknown as [number, number, number];
  const [op_, xp, yp] = [o.plain, x.plain, y.plain];
  if (op_ !== undefined && xp !== undefined && (yp !== undefined || b.dtype === SCALAR_OPERAND) && !integral) {
    // Plain numbers on every side (a permuted or broadcast float view, say): the arrays directly.
    const scale = scaled ? alpha : 1;
    const v = b.value * scale;
    do {
      let po = rows.base[0]!;
      let pa = rows.base[1]!;
      let pb = rows.base[2]!;
      if (yp === undefined) for (let j = 0; j < n; j++, po += io, pa += ia) op_[po] = fn(xp[pa]!, v);
      else for (let j = 0; j < n; j++, po += io, pa += ia, pb += ib) op_[po] = fn(xp[pa]!, scale * yp[pb]!);
    } while (rows.next());
    return;
  }
  do {
    let po = rows.base[0]!;
    let pa = rows.base[1]!;
    let pb = rows.base[2]!;
    for (let j = 0; j < n; j++, po += io, pa += ia, pb += ib) {
      const v = scaled ? alpha * y.get(pb) : y.get(pb);
      o.set(po, integral ? Math.imul(x.get(pa), v) : fn(x.get(pa), v));
    }
  } while (rows.next());
});

const COMPARISONS = new Set<number>([BinaryOp.eq, BinaryOp.ne, BinaryOp.lt, BinaryOp.le, BinaryOp.gt, BinaryOp.ge]);

/** A comparison the wasm kernels do not take (integer operands, mixed dtypes) into a dense bool out, over flat arrays. */
function denseComparison(op: number, out: TensorArg, a: TensorArg, b: TensorArg): boolean {
  if (!COMPARISONS.has(op) || out.dtype !== DTypeCode.bool || out.numel === 0) return false;
  const scalar = b.dtype === SCALAR_OPERAND;
  if (!isDenseOver(out.shape, out.strides) || !denseAs(a, out) || (!scalar && !denseAs(b, out))) return false;
  const x = operand(a).plain;
  const y = scalar ? undefined : operand(b).plain;
  if (x === undefined || (!scalar && y === undefined)) return false;
  // Comparisons give 0 or 1, so the bool bytes are written directly.
  const o = new Uint8Array(out.memory, out.byteOffset, out.numel);
  const fn = BINARY[op]!;
  const v = b.value;
  for (let j = 0; j < o.length; j++) o[j] = fn(x[j]!, y === undefined ? v : y[j]!);
  return true;
}

/** tensorBinary over dense, unbroadcast operands of one float dtype (b may be a scalar), as flat arrays. */
export const tensorBinaryContiguous = typedKernel(TensorKernel.binaryContiguous, (_ctx, { op, out, a, b, alpha }) => {
  if (binarySimd(op, out, a, b, alpha)) return;
  const o = operand(out).plain;
  const x = operand(a).plain;
  if (o === undefined || x === undefined) return;
  const n = out.numel;
  const scale = op === BinaryOp.add || op === BinaryOp.sub ? alpha : 1;
  if (b.dtype === SCALAR_OPERAND) {
    const v = scale * b.value;
    if (op === BinaryOp.add) for (let j = 0; j < n; j++) o[j] = x[j]! + v;
    else if (op === BinaryOp.mul) for (let j = 0; j < n; j++) o[j] = x[j]! * v;
    else if (op === BinaryOp.sub) for (let j = 0; j < n; j++) o[j] = x[j]! - v;
    else {
      const fn = BINARY[op]!;
      for (let j = 0; j < n; j++) o[j] = fn(x[j]!, v);
    }
    return;
  }
  const y = operand(b).plain!;
  if (scale !== 1) {
    const fn = BINARY[op]!;
    for (let j = 0; j < n; j++) o[j] = fn(x[j]!, scale * y[j]!);
  } else if (op === BinaryOp.add) for (let j = 0; j < n; j++) o[j] = x[j]! + y[j]!;
  else if (op === BinaryOp.mul) for (let j = 0; j < n; j++) o[j] = x[j]! * y[j]!;
  else if (op === BinaryOp.sub) for (let j = 0; j < n; j++) o[j] = x[j]! - y[j]!;
  else {
    const fn = BINARY[op]!;
    for (let j = 0; j < n; j++) o[j] = fn(x[j]!, y[j]!);
  }
});

/** out = condition ? a : b, strided and broadcast; values are converted into out's dtype. */
export const tensorWhere = typedKernel(TensorKernel.where, (_ctx, { out, condition, a, b }) => {
  const ndim = out.ndim;
  const rows = new Rows(out.shape, [out.strides, condition.strides, stridesIn(a, ndim), stridesIn(b, ndim)]);
  if (!rows.nonEmpty) return;
  const o = operand(out);
  const c = operand(condition);
  const x = operand(a);
  const y = operand(b);
  rows.reset();
  const n = rows.length;
  const [io, ic, ia, ib] = rows.inner as unknown as [number, number, number, number];
  do {
    let po = rows.base[0]!;
    let pc = rows.base[1]!;
    let pa = rows.base[2]!;
    let pb = rows.base[3]!;
    for (let j = 0; j < n; j++, po += io, pc += ic, pa += ia, pb += ib) o.set(po, c.get(pc) !== 0 ? x.get(pa) : y.get(pb));
  } while (rows.next());
});

/** `strides` with dimension `dim`'s zeroed: the offset of every coordinate but the indexed one. */
function withoutDim(strides: readonly number[], dim: number): number[] {
  const s = strides.slice();
  s[dim] = 0;
  return s;
}

/** An index element checked against the size it indexes: out of range is the kernel's error (CUDA's device-side assert). */
function checkedIndex(value: number, size: number, call: string): number {
  if (!(value >= 0 && value < size)) throw new RangeError(`${call}: index ${value} is out of bounds for dimension with size ${size}`);
  return value;
}

/** out[…i…] = input[… index[…i…] …] along dim, over index's shape. */
export const tensorGather = typedKernel(TensorKernel.gather, (_ctx, { out, input, index, dim }) => {
  const rows = new Rows(index.shape, [out.strides, index.strides, withoutDim(input.strides, dim)]);
  if (!rows.nonEmpty) return;
  const o = operand(out);
  const idx = operand(index);
  const x = operand(input);
  const size = input.shape[dim]!;
  const step = input.strides[dim]!;
  // Plain numbers on both sides (float32, say): the arrays directly, an int64 index by its words.
  const [op_, xp, words] = [o.plain, x.plain, idx.words];
  rows.reset();
  const n = rows.length;
  const [io, ii, ix] = rows.inner as unknown as [number, number, number];
  do {
    let po = rows.base[0]!;
    let pi = rows.base[1]!;
    let px = rows.base[2]!;
    if (op_ !== undefined && xp !== undefined) {
      for (let j = 0; j < n; j++, po += io, pi += ii, px += ix) op_[po] = xp[px + checkedIndex(words !== undefined ? int64At(words, pi) : idx.get(pi), size, 'gather') * step]!;
    } else for (let j = 0; j < n; j++, po += io, pi += ii, px += ix) o.set(po, x.get(px + checkedIndex(idx.get(pi), size, 'gather') * step));
  } while (rows.next());
});

/** out[… index[…i…] …] = src[…i…] (or +=) along dim, over index's shape, in index order (a repeated index keeps the last). */
export const tensorScatter = typedKernel(TensorKernel.scatter, (_ctx, { out, index, src, dim, accumulate }) => {
  const ndim = index.ndim;
  const rows = new Rows(index.shape, [withoutDim(out.strides, dim), index.strides, stridesIn(src, ndim)]);
  if (!rows.nonEmpty) return;
  const o = operand(out);
  const idx = operand(index);
  const y = operand(src);
  const size = out.shape[dim]!;
  const step = out.strides[dim]!;
  const [op_, yp, words] = [o.plain, y.plain, idx.words];
  rows.reset();
  const n = rows.length;
  const [io, ii, is] = rows.inner as unknown as [number, number, number];
  do {
    let po = rows.base[0]!;
    let pi = rows.base[1]!;
    let ps = rows.base[2]!;
    if (op_ !== undefined && yp !== undefined) {
      // Plain numbers on both sides: the arrays directly.
      for (let j = 0; j < n; j++, po += io, pi += ii, ps += is) {
        const at = po + checkedIndex(words !== undefined ? int64At(words, pi) : idx.get(pi), size, 'scatter') * step;
        op_[at] = accumulate !== 0 ? op_[at]! + yp[ps]! : yp[ps]!;
      }
    } else {
      for (let j = 0; j < n; j++, po += io, pi += ii, ps += is) {
        const at = po + checkedIndex(idx.get(pi), size, 'scatter') * step;
        o.set(at, accumulate !== 0 ? o.get(at) + y.get(ps) : y.get(ps));
      }
    }
  } while (rows.next());
});

/**
 * Sorts every row of the last dimension (the host moves the sorted one last): values and
 * their original indices, stably, NaN last ascending and first descending as PyTorch orders it.
 */
export const tensorSort = typedKernel(TensorKernel.sort, (_ctx, { values, indices, input, descending }) => {
  const kept = input.ndim - 1;
  const n = input.shape[kept] ?? 1;
  const rows = new Rows(input.shape.slice(0, kept), [values.strides.slice(0, kept), indices.strides.slice(0, kept), input.strides.slice(0, kept)]);
  if (!rows.nonEmpty || n === 0) return;
  const v = operand(values);
  const idx = operand(indices);
  const x = operand(input);
  const [sv, si, sx] = [values.strides[kept] ?? 0, indices.strides[kept] ?? 0, input.strides[kept] ?? 0];
  const keys = new Float64Array(n);
  const order = Array.from({ length: n }, (_, i) => i);
  // NaN compares above everything (PyTorch's order); ties keep their index order (stable).
  const above = (a: number, b: number) => (Number.isNaN(a) ? (Number.isNaN(b) ? 0 : 1) : Number.isNaN(b) ? -1 : a - b);
  const compare = descending !== 0 ? (i: number, j: number) => above(keys[j]!, keys[i]!) || i - j : (i: number, j: number) => above(keys[i]!, keys[j]!) || i - j;
  rows.reset();
  const m = rows.length;
  const [iv, ii, ix] = rows.inner as unknown as [number, number, number];
  do {
    let [pv, pi, px] = [rows.base[0]!, rows.base[1]!, rows.base[2]!];
    for (let r = 0; r < m; r++, pv += iv, pi += ii, px += ix) {
      for (let k = 0; k < n; k++) {
        keys[k] = x.get(px + k * sx);
        order[k] = k;
      }
      order.sort(compare);
      for (let k = 0; k < n; k++) {
        v.set(pv + k * sv, keys[order[k]!]!);
        idx.set(pi + k * si, order[k]!);
      }
    }
  } while (rows.next());
});

/** Running sums along the last dimension (the host moves the scanned one last), accumulated in doubles. */
export const tensorCumsum = typedKernel(TensorKernel.cumsum, (_ctx, { out, input }) => {
  const kept = input.ndim - 1;
  const n = input.shape[kept] ?? 1;
  const rows = new Rows(input.shape.slice(0, kept), [out.strides.slice(0, kept), input.strides.slice(0, kept)]);
  if (!rows.nonEmpty || n === 0) return;
  const o = operand(out);
  const x = operand(input);
  const [so, sx] = [out.strides[kept] ?? 0, input.strides[kept] ?? 0];
  rows.reset();
  const m = rows.length;
  const [io, ix] = rows.inner as unknown as [number, number];
  do {
    let [po, px] = [rows.base[0]!, rows.base[1]!];
    for (let r = 0; r < m; r++, po += io, px += ix) {
      let acc = 0;
      for (let k = 0; k < n; k++) o.set(po + k * so, (acc += x.get(px + k * sx)));
    }
  } while (rows.next());
});

/** Writes `value` into every element of a strided tensor. */
export const tensorFill = typedKernel(TensorKernel.fill, (_ctx, { out, value }) => {
  const rows = new Rows(out.shape, [out.strides]);
  if (!rows.nonEmpty) return;
  const o = operand(out);
  rows.reset();
  const n = rows.length;
  const io = rows.inner[0]!;
  do {
    let po = rows.base[0]!;
    for (let j = 0; j < n; j++, po += io) o.set(po, value);
  } while (rows.next());
});

/** out[i] = start + i·step for a contiguous output. */
export const tensorArange = typedKernel(TensorKernel.arange, (_ctx, { out, start, step }) => {
  const n = out.numel;
  if (n === 0) return;
  const o = operand(out);
  for (let i = 0; i < n; i++) o.set(i, start + i * step);
});

/**
 * Reduces the last `reduced` dimensions of the input for every index of the kept ones. For
 * max and min, a given `indices` also receives the index of the first extreme (in the
 * reduced space).
 */
export const tensorReduce = typedKernel(TensorKernel.reduce, (_ctx, { op, out, indices, input, reduced }) => {
  const kept = input.ndim - reduced;
  const hasIndices = indices.dtype !== ABSENT_OPERAND;
  if (reduceSimd(op, out, hasIndices ? indices : undefined, input, reduced)) return;
  const outerRows = new Rows(input.shape.slice(0, kept), [out.strides, hasIndices ? indices.strides : new Array<number>(kept).fill(0), input.strides.slice(0, kept)]);
  const innerRows = new Rows(input.shape.slice(kept), [input.strides.slice(kept)]);
  if (!outerRows.nonEmpty) return;
  const o = operand(out);
  const x = operand(input);
  const index = hasIndices ? operand(indices) : undefined;
  let count = 1;
  for (let d = kept; d < input.ndim; d++) count *= input.shape[d]!;
  const origin = new Int32Array(1);
  outerRows.reset();
  const n = outerRows.length;
  const [oo, ox, oi] = outerRows.inner as unknown as [number, number, number];
  do {
    for (let j = 0; j < n; j++) {
      origin[0] = outerRows.base[2]! + j * oi;
      let acc = op === ReduceOp.max ? -Infinity : op === ReduceOp.min ? Infinity : op === ReduceOp.prod ? 1 : 0;
      let best = 0;
      let seen = 0;
      if (innerRows.nonEmpty) {
        innerRows.reset(origin);
        const m = innerRows.length;
        const step = innerRows.inner[0]!;
        do {
          let p = innerRows.base[0]!;
          for (let q = 0; q < m; q++, p += step, seen++) {
            const v = x.get(p);
            if (op === ReduceOp.sum || op === ReduceOp.mean) acc += v;
            else if (op === ReduceOp.prod) acc *= v;
            else if (Number.isNaN(acc)) continue;
            else if (Number.isNaN(v) || (op === ReduceOp.max ? v > acc : v < acc)) {
              acc = v;
              best = seen;
            }
          }
        } while (innerRows.next());
      }
      if (op === ReduceOp.mean) acc /= count;
      o.set(outerRows.base[0]! + j * oo, acc);
      index?.set(outerRows.base[1]! + j * ox, best);
    }
  } while (outerRows.next());
});

/** Copies each input into its slice of `out` along `dim`, converting to out's dtype. */
export const tensorCat = typedKernel(TensorKernel.cat, (_ctx, { out, inputs, dim }) => {
  const o = operand(out);
  let offset = 0;
  for (let k = 0; k < inputs.length; k++) {
    const input = inputs[k]!;
    const rows = new Rows(input.shape, [out.strides, input.strides]);
    if (rows.nonEmpty) {
      const x = operand(input);
      rows.reset([offset * out.strides[dim]!, 0]);
      const n = rows.length;
      const [io, ii] = rows.inner as unknown as [number, number];
      do {
        let po = rows.base[0]!;
        let pi = rows.base[1]!;
        for (let j = 0; j < n; j++, po += io, pi += ii) o.set(po, x.get(pi));
      } while (rows.next());
    }
    offset += input.shape[dim]!;
  }
});

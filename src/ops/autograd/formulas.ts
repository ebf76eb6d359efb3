import { dispatcher } from '../../dispatch/registry.js';
import { excludingKey } from '../../dispatch/dispatch-state.js';
import { checkDim } from '../../tensor/shape.js';
import { Tensor, op } from '../../tensor/tensor.js';
import { filled } from './engine.js';
import { checkInPlace, outputsOf, recordMissing, tensorInputs } from './graph.js';
import { formula, sumTo } from './formula.js';

/** The gradient formulas of the builtin ops not yet defined with defineOp (which carry their own derivatives). */

formula('abs', [0], (g, _o, x: Tensor) => [g.mul(x.gt(0).to(x.dtype).sub(x.lt(0).to(x.dtype)))]);
formula('mm', [0, 1], (g, _o, a: Tensor, b: Tensor) => [g.mm(b.t()), a.t().mm(g)]);
formula('dot', [0, 1], (g, _o, a: Tensor, b: Tensor) => [b.mul(g), a.mul(g)]);
formula('matmul', [0, 1], (g, _o, a: Tensor, b: Tensor) => {
  // As matrices: vectors get a unit dimension, which the gradients drop again.
  const a2 = a.ndim === 1 ? a.unsqueeze(0) : a;
  const b2 = b.ndim === 1 ? b.unsqueeze(1) : b;
  let g2 = g;
  if (a.ndim === 1) g2 = g2.unsqueeze(g2.ndim - (b.ndim === 1 ? 0 : 1));
  if (b.ndim === 1) g2 = g2.unsqueeze(g2.ndim);
  const ga = sumTo(g2.matmul(b2.transpose(-1, -2)), a2.shape).reshape(...a.shape);
  const gb = sumTo(a2.transpose(-1, -2).matmul(g2), b2.shape).reshape(...b.shape);
  return [ga, gb];
});
formula('sum', [], (g, _o, x: Tensor) => [g.expand(...x.shape).contiguous()]);
formula('sum.dim_IntList', [], (g, _o, x: Tensor, dim: number[] | undefined, keepdim: boolean) => [expandReduced(g, x, dim, keepdim)]);
formula('mean', [], (g, _o, x: Tensor) => [g.div(x.numel()).expand(...x.shape).contiguous()]);
formula('mean.dim', [], (g, _o, x: Tensor, dim: number[] | undefined, keepdim: boolean) => {
  const dims = reduced(x, dim);
  const count = dims.reduce((p, d) => p * x.shape[d]!, 1);
  return [expandReduced(g.div(count), x, dim, keepdim)];
});
formula('softmax.int', ['result'], (g, out, _x: Tensor, dim: number) => [op('softmax backward', '_softmax_backward_data', [g, out, dim, out.dtype]) as Tensor]);
formula('log_softmax.int', ['result'], (g, out, _x: Tensor, dim: number) => [g.sub(out.exp().mul(g.sum(dim, true)))]);
formula('view', [], (g, _o, x: Tensor) => [g.reshape(...x.shape)]);
formula('reshape', [], (g, _o, x: Tensor) => [g.reshape(...x.shape)]);
formula('transpose.int', [], (g, _o, _x: Tensor, d0: number, d1: number) => [g.transpose(d0, d1)]);
formula('permute', [], (g, _o, x: Tensor, dims: number[]) => {
  const inverse = new Array<number>(dims.length);
  dims.forEach((d, i) => (inverse[checkDim('permute', d, x.ndim)] = i));
  return [g.permute(...inverse)];
});
formula('expand', [], (g, _o, x: Tensor) => [sumTo(g, x.shape)]);
formula('unsqueeze', [], (g, _o, x: Tensor) => [g.reshape(...x.shape)]);
formula('squeeze', [], (g, _o, x: Tensor) => [g.reshape(...x.shape)]);
formula('squeeze.dim', [], (g, _o, x: Tensor) => [g.reshape(...x.shape)]);
formula('contiguous', [], (g) => [g]);
formula('clone', [], (g) => [g]);
formula('select.int', [], (g, _o, x: Tensor, dim: number, index: number) => [scatter(g, x, (z) => z.select(dim, index))]);
formula('slice.Tensor', [], (g, _o, x: Tensor, dim: number, start?: number, end?: number, step?: number) => [scatter(g, x, (z) => z.slice(dim ?? 0, start, end, step ?? 1))]);
formula('openreg::to', [], (g, _o, x: Tensor) => [g.to(x.device, { dtype: x.dtype })]);

function reduced(x: Tensor, dim: number[] | undefined): number[] {
  if (dim === undefined || dim.length === 0) return x.shape.map((_, i) => i);
  return dim.map((d) => checkDim('sum', d, x.ndim));
}

/** The gradient of a reduction: g with the reduced dims back (size 1), expanded to x's shape. */
function expandReduced(g: Tensor, x: Tensor, dim: number[] | undefined, keepdim: boolean): Tensor {
  let h = g;
  if (!keepdim) for (const d of [...reduced(x, dim)].sort((p, q) => p - q)) h = h.unsqueeze(d);
  return h.expand(...x.shape).contiguous();
}

/** Zeros of x's shape with g written into the part `part` picks (the gradient of an indexing view). */
function scatter(g: Tensor, x: Tensor, part: (z: Tensor) => Tensor): Tensor {
  const z = filled(x.shape, 0, g.dtype, g.device);
  const view = part(z);
  view.copy_(g);
  view.dispose();
  return z;
}

// Everything else (custom ops included): run below autograd; backward through the result is an
// error naming the op. An op that writes a tensor of the graph is refused first (the schema says which).
dispatcher.fallback('autograd', 'Autograd', (schema, next, ...args) => {
  checkInPlace(schema, args);
  const out = excludingKey('Autograd', () => next(...args));
  recordMissing(schema.qualifiedName, tensorInputs(args), outputsOf(out).map((o) => (args.includes(o) ? undefined : o)));
  return out;
});

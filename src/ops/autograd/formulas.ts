import { dispatcher } from '../../dispatch/registry.js';
import { excludingKey } from '../../dispatch/dispatch-state.js';
import { checkDim } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import { filled } from './engine.js';
import { checkInPlace, outputsOf, recordMissing, tensorInputs } from './graph.js';
import { formula, sumTo } from './formula.js';

/** The gradient formulas of the builtin ops not yet defined with defineOp (which carry their own derivatives). */

formula('abs', [0], (g, _o, x: Tensor) => [g.mul(x.gt(0).to(x.dtype).sub(x.lt(0).to(x.dtype)))]);
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

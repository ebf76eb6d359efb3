import { invalidValue } from '../../errors/errors.js';
import { type DType, resultType } from '../../tensor/dtype.js';
import { checkDim } from '../../tensor/shape.js';
import type { Tensor } from '../../tensor/tensor.js';
import { TensorKernel } from '../../protocol/tensor-kernel-signatures.js';
import { type OpArgs, defineOp } from '../define-op.js';
import { filled } from '../autograd/engine.js';
import { viewOf } from '../executor.js';

interface CatArgs extends OpArgs {
  readonly tensors: readonly Tensor[];
  readonly dim: number;
}

interface CatPlan {
  readonly shape: number[];
  readonly dtype: DType;
  /** The tensors that take part: PyTorch skips 1-D empty ones (its legacy rule). */
  readonly parts: readonly Tensor[];
  readonly dim: number;
}

const skipped = (t: Tensor): boolean => t.ndim === 1 && t.shape[0] === 0;

/** cat's rule: one rank, equal sizes but along dim, the promoted dtype. */
function planCat(call: string, { tensors, dim }: CatArgs): CatPlan {
  if (tensors.length === 0) throw invalidValue(call, 'expected a non-empty list of Tensors');
  const parts = tensors.filter((t) => !skipped(t));
  const dtype = resultType(tensors.map((t) => t.dtype));
  if (parts.length === 0) return { shape: [0], dtype, parts, dim: 0 };
  const first = parts[0]!;
  for (const [i, t] of tensors.entries()) if (t.ndim === 0) throw invalidValue(call, `zero-dimensional tensor (at position ${i}) cannot be concatenated`);
  const d = checkDim(call, dim, first.ndim);
  const shape = [...first.shape];
  shape[d] = 0;
  for (const t of parts) {
    const i = tensors.indexOf(t);
    if (t.ndim !== first.ndim) throw invalidValue(call, `Tensors must have same number of dimensions: got ${first.ndim} and ${t.ndim}`);
    for (let k = 0; k < t.ndim; k++) {
      if (k !== d && t.shape[k] !== first.shape[k]) {
        throw invalidValue(call, `Sizes of tensors must match except in dimension ${d}. Expected size ${first.shape[k]} but got size ${t.shape[k]} for tensor number ${i} in the list.`);
      }
    }
    shape[d]! += t.shape[d]!;
  }
  return { shape, dtype, parts, dim: d };
}

export const CAT = defineOp({
  schemas: ['cat(Tensor[] tensors, int dim=0) -> Tensor'],
  method: false,
  function: 'cat',
  out: true,
  result: planCat,
  // One launch for any number of inputs: the typed ABI takes the list whole.
  kernel: (_call, ex, out, _a: CatArgs, plan: CatPlan) => {
    if (out.numel() > 0) ex.launch(TensorKernel.cat, { out, inputs: plan.parts, dim: plan.dim });
  },
  derivatives: {
    tensors: (g, a: CatArgs) => {
      const d = a.tensors.some((t) => !skipped(t)) ? checkDim('cat backward', a.dim, g.ndim) : 0;
      let at = 0;
      return a.tensors.map((t) => {
        if (skipped(t)) return filled([0], 0, t.dtype, g.device);
        const part = g.slice(d, at, at + t.shape[d]!).contiguous();
        at += t.shape[d]!;
        return part.dtype === t.dtype ? part : part.to(t.dtype);
      });
    },
  },
  autocast: 'promote',
  doc: 'tensors joined along dim, in their promoted dtype; 1-D empty tensors are skipped, as in PyTorch',
});

/** `torch.cat`: joins `tensors` along `dim` (any number of them, in one kernel launch). */
export const cat = CAT.call as (tensors: readonly Tensor[], dim?: number) => Tensor;

interface StackArgs extends OpArgs {
  readonly tensors: readonly Tensor[];
  readonly dim: number;
}

/** stack's rule: equal shapes; the result has a new dimension of size tensors.length at dim. */
function planStack(call: string, { tensors, dim }: StackArgs): { shape: number[]; dtype: DType; dim: number } {
  if (tensors.length === 0) throw invalidValue(call, 'expected a non-empty list of Tensors');
  const first = tensors[0]!;
  for (const [i, t] of tensors.entries()) {
    if (t.shape.join() !== first.shape.join()) throw invalidValue(call, `stack expects each tensor to be equal size, but got [${first.shape.join(', ')}] at entry 0 and [${t.shape.join(', ')}] at entry ${i}`);
  }
  const d = checkDim(call, dim, first.ndim + 1);
  const shape = [...first.shape];
  shape.splice(d, 0, tensors.length);
  return { shape, dtype: resultType(tensors.map((t) => t.dtype)), dim: d };
}

export const STACK = defineOp({
  schemas: ['stack(Tensor[] tensors, int dim=0) -> Tensor'],
  method: false,
  function: 'stack',
  out: true,
  result: planStack,
  // cat of the inputs seen with a size-1 dimension at dim: one launch, no copies first.
  kernel: (_call, ex, out, { tensors }: StackArgs, plan) => {
    if (out.numel() === 0) return;
    const inputs = tensors.map((t) => {
      const shape = [...t.shape];
      const strides = [...t.strides];
      shape.splice(plan.dim, 0, 1);
      strides.splice(plan.dim, 0, 0);
      return viewOf(t, shape, strides);
    });
    ex.launch(TensorKernel.cat, { out, inputs, dim: plan.dim });
  },
  derivatives: {
    tensors: (g, a: StackArgs) => {
      const d = checkDim('stack backward', a.dim, g.ndim);
      return a.tensors.map((t, i) => {
        const part = g.select(d, i).contiguous();
        return part.dtype === t.dtype ? part : part.to(t.dtype);
      });
    },
  },
  autocast: 'promote',
  doc: 'tensors of one shape joined along a new dimension dim, in their promoted dtype',
});

/** `torch.stack`: joins equal-shaped `tensors` along a new dimension `dim`. */
export const stack = STACK.call as (tensors: readonly Tensor[], dim?: number) => Tensor;

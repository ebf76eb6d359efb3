import { ErrorCode } from '../../errors/error-code.js';
import { invalidValue, openRegError } from '../../errors/errors.js';
import { OpenRegError } from '../../errors/openreg-error.js';
import { DTYPES } from '../../tensor/dtype.js';
import { noGrad } from '../../tensor/grad-mode.js';
import { type GradNode, Tensor, op } from '../../tensor/tensor.js';
import { defineBuiltin } from '../register.js';

/**
 * Reverse-mode autograd over the graph of GradNodes: nodes run in reverse topological order,
 * each turning its output's gradient into its inputs'; gradients reaching a leaf that
 * requires grad accumulate into its `.grad`. Runs with grad mode off.
 */
export function runBackward(root: Tensor, gradient: Tensor | undefined): void {
  const call = 'backward';
  if (!root.requiresGrad) throw invalidValue(call, 'element 0 of tensors does not require grad and does not have a grad_fn', root.toString());
  if (gradient === undefined && root.numel() !== 1) throw invalidValue(call, 'grad can be implicitly created only for scalar outputs', root.toString());
  if (gradient !== undefined && (!(gradient instanceof Tensor) || gradient.shape.join() !== root.shape.join())) {
    throw invalidValue(call, `gradient must be a Tensor of shape [${root.shape.join(', ')}]`, gradient instanceof Tensor ? gradient.toString() : gradient);
  }
  noGrad(() => {
    const seed = gradient ?? filled(root.shape, 1, root);
    if (root.gradFn === undefined) {
      accumulate(root, seed, gradient === undefined);
      return;
    }
    const order = topologicalOrder(root.gradFn);
    const grads = new Map<GradNode, Tensor>([[root.gradFn, seed]]);
    // Gradients this pass made are freed when nothing holds them any more (the caller's is kept).
    const holds = new Map<Tensor, number>([[seed, 1]]);
    const hold = (t: Tensor) => holds.set(t, (holds.get(t) ?? 0) + 1);
    const drop = (t: Tensor) => {
      const n = (holds.get(t) ?? 1) - 1;
      holds.set(t, n);
      if (n === 0 && t !== gradient) t.dispose();
    };
    for (const node of order) {
      const g = grads.get(node);
      if (g === undefined) continue;
      grads.delete(node);
      const inputGrads = backwardOf(node, g);
      const handed = inputGrads.filter((t): t is Tensor => t !== undefined);
      for (const gi of handed) hold(gi);
      node.inputs.forEach((input, i) => {
        const gi = inputGrads[i];
        if (input === undefined || gi === undefined) return;
        if (input.gradFn !== undefined) {
          const previous = grads.get(input.gradFn);
          const next = previous === undefined ? gi : previous.add(gi);
          grads.set(input.gradFn, next);
          hold(next);
          if (previous !== undefined) drop(previous);
        } else if (input.requiresGrad) {
          accumulate(input, gi, false);
        }
      });
      for (const gi of handed) drop(gi);
      drop(g);
    }
  });
}

/** Runs a node's backward; a tensor it saved having been disposed is reported as such. */
function backwardOf(node: GradNode, g: Tensor): readonly (Tensor | undefined)[] {
  try {
    return node.backward(g);
  } catch (error) {
    if (error instanceof OpenRegError && error.code === ErrorCode.INVALID_HANDLE) {
      throw openRegError('invalidHandle', { call: 'backward', problem: `a tensor ${node.name} saved for backward was disposed before backward ran (${error.message})` });
    }
    throw error;
  }
}

/** Adds `g` into `leaf.grad` (a tensor of its own: `g` is kept only when `ours`). */
function accumulate(leaf: Tensor, g: Tensor, ours: boolean): void {
  const converted = g.dtype === leaf.dtype && g.device.equals(leaf.device) ? g : g.to(leaf.device, { dtype: leaf.dtype });
  if (leaf.grad === undefined) {
    leaf.grad = ours || converted !== g ? converted : g.clone();
    return;
  }
  const sum = leaf.grad.add(converted);
  leaf.grad.dispose();
  leaf.grad = sum;
  if (converted !== g || ours) converted.dispose();
}

function topologicalOrder(root: GradNode): GradNode[] {
  const order: GradNode[] = [];
  const seen = new Set<GradNode>();
  // Iterative DFS: deep graphs (long training loops unrolled) must not overflow the stack.
  const stack: [GradNode, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const [node, i] = top;
    if (i < node.inputs.length) {
      top[1]++;
      const next = node.inputs[i]?.gradFn;
      if (next !== undefined && !seen.has(next)) {
        seen.add(next);
        stack.push([next, 0]);
      }
    } else {
      stack.pop();
      order.push(node);
    }
  }
  return order.reverse();
}

/** A tensor of `shape` filled with `value`, with `like`'s dtype and device. */
export function filled(shape: readonly number[], value: number, like: Tensor): Tensor {
  return op('backward', 'full', [shape, value, like.dtype, like.device], like.device) as Tensor;
}

/** Attaches a node to `out` when some input requires grad (and out can carry a gradient). */
export function record(out: unknown, name: string, inputs: readonly unknown[], backward: (g: Tensor) => readonly (Tensor | undefined)[]): void {
  if (!(out instanceof Tensor) || DTYPES[out.dtype].category !== 'floating') return;
  const tracked = inputs.map((t) => (t instanceof Tensor && t.requiresGrad ? t : undefined));
  if (tracked.every((t) => t === undefined)) return;
  out.gradFn = { name, inputs: tracked, backward };
}

/** The node of an op with no gradient formula: backward through it is an error. */
export function recordMissing(out: unknown, op: string, inputs: readonly unknown[]): void {
  const outs = Array.isArray(out) ? out : [out];
  for (const o of outs) {
    record(o, `${op}Backward`, inputs, () => {
      throw openRegError('notImplemented', { call: 'backward', op: `the derivative of ${op}`, device: 'Autograd' });
    });
  }
}

defineBuiltin('openreg::backward(Tensor self, Tensor? gradient=None) -> ()', (_ex, self: Tensor, gradient: Tensor | undefined) => runBackward(self, gradient));

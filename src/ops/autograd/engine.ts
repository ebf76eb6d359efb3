import { ErrorCode } from '../../errors/error-code.js';
import { invalidValue, openRegError } from '../../errors/errors.js';
import { OpenRegError } from '../../errors/openreg-error.js';
import { noGrad } from '../../tensor/grad-mode.js';
import type { TensorDevice } from '../../tensor/device.js';
import type { DType } from '../../tensor/dtype.js';
import { Tensor, op } from '../../tensor/tensor.js';
import { defineBuiltin } from '../register.js';
import { AccumulateGrad, FunctionNode, type Node, edgeOf } from './graph.js';

/**
 * Reverse-mode autograd in PyTorch's engine shape: from the root's node, count how many
 * edges reach each node; a node runs once every node feeding it has run (its dependency
 * count is 0), on the sum of the gradients of each of its outputs (zeros for an output
 * nothing flowed into). Tensor hooks run on a node's output gradients before it; leaves
 * accumulate in their AccumulateGrad node. Without `retainGraph`, each node frees what it
 * saved once it has run, so a second backward through it is an error. Runs with grad mode off.
 */
export function runBackward(root: Tensor, gradient: Tensor | undefined, retainGraph: boolean): void {
  const call = 'backward';
  if (!root.requiresGrad) throw invalidValue(call, 'element 0 of tensors does not require grad and does not have a grad_fn', root.toString());
  if (gradient === undefined && root.numel() !== 1) throw invalidValue(call, 'grad can be implicitly created only for scalar outputs', root.toString());
  if (gradient !== undefined && (!Tensor.isGenuine(gradient) || gradient.shape.join() !== root.shape.join())) {
    throw invalidValue(call, `gradient must be a Tensor of shape [${root.shape.join(', ')}]`, gradient instanceof Tensor ? gradient.toString() : gradient);
  }
  if (typeof retainGraph !== 'boolean') throw invalidValue(call, 'options.retainGraph must be a boolean', retainGraph);
  noGrad(() => new Pass(gradient, retainGraph).run(edgeOf(root)!, gradient ?? filled(root.shape, 1, root.dtype, root.device)));
}

/** One backward pass: dependency counts, gradient buffers, and which gradients it may free. */
class Pass {
  readonly #dependencies = new Map<Node, number>();
  readonly #buffers = new Map<Node, (Tensor | undefined)[]>();
  /** Gradients this pass made, with how many buffers hold each: freed when none does. */
  readonly #holds = new Map<Tensor, number>();
  readonly #userGradient: Tensor | undefined;
  readonly #retainGraph: boolean;

  constructor(userGradient: Tensor | undefined, retainGraph: boolean) {
    this.#userGradient = userGradient;
    this.#retainGraph = retainGraph;
  }

  run(rootEdge: { node: Node; inputNr: number }, seed: Tensor): void {
    this.#countDependencies(rootEdge.node);
    if (seed !== this.#userGradient) this.#made(seed);
    this.#place(rootEdge, seed);
    const ready: Node[] = [rootEdge.node];
    while (ready.length > 0) {
      const node = ready.pop()!;
      const buffer = this.#buffers.get(node) ?? [];
      this.#buffers.delete(node);
      if (buffer.some((g) => g !== undefined)) this.#runNode(node, buffer);
      else this.#release(node);
      for (const edge of node.nextEdges) {
        if (edge === undefined) continue;
        const left = this.#dependencies.get(edge.node)! - 1;
        this.#dependencies.set(edge.node, left);
        if (left === 0) ready.push(edge.node);
      }
    }
  }

  #runNode(node: Node, buffer: (Tensor | undefined)[]): void {
    const grads: Tensor[] = [];
    for (let k = 0; k < node.numOutputs; k++) {
      let g = buffer[k];
      if (g === undefined) {
        // An output nothing flowed into gets a zero gradient (PyTorch's materialized grads).
        const meta = node instanceof FunctionNode ? node.outputs[k] : undefined;
        if (meta === undefined) throw invalidValue('backward', `${node.name} has no gradient for output ${k}`);
        g = this.#made(filled(meta.shape, 0, meta.dtype, meta.device));
        buffer[k] = g;
        this.#hold(g);
      }
      grads.push(g);
    }
    for (const { outputNr, fn } of node.preHooks?.values() ?? []) {
      const replaced: unknown = fn(grads[outputNr]!);
      if (replaced === undefined) continue;
      const before = grads[outputNr]!;
      if (!Tensor.isGenuine(replaced) || replaced.shape.join() !== before.shape.join()) {
        throw invalidValue('backward', `a hook on ${node.name} must return undefined or a Tensor of shape [${before.shape.join(', ')}]`, replaced);
      }
      grads[outputNr] = replaced;
    }
    const inputGrads = applyNode(node, grads, this);
    this.#release(node);
    inputGrads.forEach((gi, i) => {
      if (gi === undefined) return;
      // A builtin formula's new tensors are the pass's to free; a gradient it passes on unchanged keeps its owner.
      if (node.ownsResults && !grads.includes(gi)) this.#made(gi);
      const edge = node.nextEdges[i];
      // Hold while placing, then let go: a gradient nobody takes is freed at once.
      this.#hold(gi);
      if (edge !== undefined) this.#place(edge, gi);
      this.#drop(gi);
    });
    for (const g of buffer) if (g !== undefined) this.#drop(g);
  }

  /** Runs a leaf's accumulator; a gradient only its buffer holds is handed over if the leaf keeps it. */
  accumulate(node: AccumulateGrad, g: Tensor): readonly (Tensor | undefined)[] {
    const owned = this.#holds.get(g) === 1 && node.preHooks === undefined;
    const result = node.apply([g], owned);
    if (owned && node.leaf.grad === g) this.#holds.delete(g);
    return result;
  }

  #release(node: Node): void {
    if (!this.#retainGraph) node.release();
  }

  #countDependencies(root: Node): void {
    const seen = new Set<Node>([root]);
    const stack = [root];
    while (stack.length > 0) {
      const node = stack.pop()!;
      for (const edge of node.nextEdges) {
        if (edge === undefined) continue;
        this.#dependencies.set(edge.node, (this.#dependencies.get(edge.node) ?? 0) + 1);
        if (!seen.has(edge.node)) {
          seen.add(edge.node);
          stack.push(edge.node);
        }
      }
    }
  }

  /** Adds `g` into the buffer slot of `edge`. */
  #place(edge: { node: Node; inputNr: number }, g: Tensor): void {
    let buffer = this.#buffers.get(edge.node);
    if (buffer === undefined) this.#buffers.set(edge.node, (buffer = []));
    const previous = buffer[edge.inputNr];
    if (previous === undefined) {
      buffer[edge.inputNr] = g;
      this.#hold(g);
      return;
    }
    const sum = this.#made(previous.add(g));
    buffer[edge.inputNr] = sum;
    this.#hold(sum);
    this.#drop(previous);
  }

  #made(t: Tensor): Tensor {
    if (!this.#holds.has(t)) this.#holds.set(t, 0);
    return t;
  }

  #hold(t: Tensor): void {
    const n = this.#holds.get(t);
    if (n !== undefined) this.#holds.set(t, n + 1);
  }

  #drop(t: Tensor): void {
    const n = this.#holds.get(t);
    if (n === undefined) return;
    if (n > 1) {
      this.#holds.set(t, n - 1);
      return;
    }
    this.#holds.delete(t);
    if (t !== this.#userGradient && !t.disposed) t.dispose();
  }
}

/** Runs a node; a tensor it saved having been disposed is reported as such. */
function applyNode(node: Node, grads: readonly Tensor[], pass: Pass): readonly (Tensor | undefined)[] {
  try {
    if (node instanceof AccumulateGrad) return pass.accumulate(node, grads[0]!);
    return node.apply(grads);
  } catch (error) {
    if (error instanceof OpenRegError && error.code === ErrorCode.INVALID_HANDLE) {
      throw openRegError('invalidHandle', { call: 'backward', problem: `a tensor ${node.name} saved for backward was disposed before backward ran (${error.message})` });
    }
    throw error;
  }
}

/** A tensor of `shape` filled with `value`, of `dtype` on `device`. */
export function filled(shape: readonly number[], value: number, dtype: DType, device: TensorDevice): Tensor {
  return op('backward', 'full', [shape, value, dtype, device], device) as Tensor;
}

defineBuiltin('openreg::backward(Tensor self, Tensor? gradient=None, bool retain_graph=False) -> ()', (_ex, self: Tensor, gradient: Tensor | undefined, retainGraph: boolean | undefined) =>
  runBackward(self, gradient, retainGraph ?? false),
);

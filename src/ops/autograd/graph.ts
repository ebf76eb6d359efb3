import { invalidValue, openRegError } from '../../errors/errors.js';
import type { OperatorSchema } from '../../dispatch/schema.js';
import { DTYPES, type DType } from '../../tensor/dtype.js';
import type { TensorDevice } from '../../tensor/device.js';
import { type GradHook, type GradNode, Tensor, setHookRegistrar } from '../../tensor/tensor.js';

/**
 * The autograd graph in PyTorch's shape: a node per differentiable op call, with one edge
 * per tensor input — `(node, inputNr)`, the node that made that input and which of its
 * outputs it was — and an accumulation node per leaf. Tensors know their node (`gradFn`)
 * and which of its outputs they are (`outputNr`).
 */

/** Where one input's gradient goes: a node, and which of its outputs the input was. */
export interface Edge {
  readonly node: Node;
  readonly inputNr: number;
}

/** Turns the gradients of a node's outputs into its inputs' (per tensor input, lists flattened). */
export type NodeBackward = (grads: readonly Tensor[]) => readonly (Tensor | undefined)[];

/** What a node knows of each output: enough to make a zero gradient for one nothing flowed into. */
export interface OutputMeta {
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly device: TensorDevice;
}

export abstract class Node implements GradNode {
  readonly name: string;
  /** One per tensor input (lists flattened): where its gradient flows, or undefined. */
  readonly nextEdges: readonly (Edge | undefined)[];
  readonly numOutputs: number;
  /** True when the formula is openreg's own: the gradients it returns are new tensors the engine may free. */
  readonly ownsResults: boolean = true;
  /** Run on the gradients of the outputs before the node (tensor hooks of non-leaves; leaves' hooks); made on first use. */
  preHooks: Map<number, { outputNr: number; fn: GradHook }> | undefined;
  /** Run on the accumulated gradient after an AccumulateGrad node (`register_post_accumulate_grad_hook`); made on first use. */
  postHooks: Map<number, (leaf: Tensor) => void> | undefined;

  constructor(name: string, nextEdges: readonly (Edge | undefined)[], numOutputs: number) {
    this.name = name;
    this.nextEdges = nextEdges;
    this.numOutputs = numOutputs;
  }

  #edges: Edge[] | undefined;

  /** The edge to output `outputNr` of this node (made once: every consumer of that output shares it). */
  edgeTo(outputNr: number): Edge {
    const edges = (this.#edges ??= []);
    return (edges[outputNr] ??= { node: this, inputNr: outputNr });
  }

  get nextFunctions(): readonly (readonly [GradNode, number] | undefined)[] {
    return this.nextEdges.map((e) => (e === undefined ? undefined : ([e.node, e.inputNr] as const)));
  }

  /** Gradients of the inputs from the outputs'. */
  abstract apply(grads: readonly Tensor[]): readonly (Tensor | undefined)[];

  /** Frees what backward needed (after a backward without retainGraph). */
  release(): void {}
}

/** A saved tensor and its version when saved: unpacking it after an in-place change is an error. */
export class SavedTensor {
  readonly #tensor: Tensor;
  readonly #version: number;
  readonly #node: string;

  constructor(tensor: Tensor, node: string) {
    this.#tensor = tensor;
    this.#version = tensor.storage(node).version;
    this.#node = node;
  }

  unpack(): Tensor {
    const now = this.#tensor.storage('backward').version;
    if (now !== this.#version) {
      throw invalidValue(
        'backward',
        `one of the variables needed for gradient computation has been modified by an inplace operation: [${this.#tensor}], which is output 0 of ${this.#node}, is at version ${now}; expected version ${this.#version} instead`,
      );
    }
    return this.#tensor;
  }
}

/** The node of a differentiable op call: its formula, the tensors it saved, and whether a backward freed them. */
export class FunctionNode extends Node {
  #backward: NodeBackward | undefined;
  #saved: readonly SavedTensor[];
  /** Per output: its shape and a tensor of its dtype and device (for a zero gradient). */
  readonly outputs: readonly (OutputMeta | undefined)[];
  override readonly ownsResults: boolean;

  constructor(name: string, nextEdges: readonly (Edge | undefined)[], outputs: readonly (OutputMeta | undefined)[], backward: NodeBackward, saved: readonly SavedTensor[], ownsResults: boolean) {
    super(name, nextEdges, outputs.length);
    this.outputs = outputs;
    this.#backward = backward;
    this.#saved = saved;
    this.ownsResults = ownsResults;
  }

  apply(grads: readonly Tensor[]): readonly (Tensor | undefined)[] {
    if (this.#backward === undefined) {
      throw invalidValue(
        'backward',
        `trying to backward through the graph a second time (or directly access saved tensors after they have already been freed): ${this.name} was freed by an earlier backward; pass { retainGraph: true } to the first backward to keep it`,
      );
    }
    // A saved tensor changed in place since: this node's formula would be wrong.
    for (const s of this.#saved) s.unpack();
    return this.#backward(grads);
  }

  override release(): void {
    this.#backward = undefined;
    this.#saved = [];
  }
}

/** The node every gradient reaching a leaf goes through: it adds the gradient into `leaf.grad`. */
export class AccumulateGrad extends Node {
  readonly leaf: Tensor;

  constructor(leaf: Tensor) {
    super('AccumulateGrad', [], 1);
    this.leaf = leaf;
  }

  /**
   * `owned`: nothing but this call holds `grads[0]`, so the leaf may keep it rather than a
   * copy when it is dense and alone on its storage (PyTorch steals such a gradient too).
   */
  apply(grads: readonly Tensor[], owned = false): readonly (Tensor | undefined)[] {
    const leaf = this.leaf;
    const g = grads[0]!;
    const converted = g.dtype === leaf.dtype && g.device.equals(leaf.device) ? g : g.to(leaf.device, { dtype: leaf.dtype });
    if (leaf.grad === undefined) {
      // Otherwise the leaf's grad is its own copy: the engine frees its buffers after the pass.
      leaf.grad = converted !== g ? converted : owned && g.isContiguous() && !g.storage('backward').shared ? g : g.clone();
    } else {
      const sum = leaf.grad.add(converted);
      leaf.grad.dispose();
      leaf.grad = sum;
      if (converted !== g) converted.dispose();
    }
    if (this.postHooks !== undefined) for (const hook of this.postHooks.values()) hook(leaf);
    return [];
  }
}

const accumulators = new WeakMap<Tensor, AccumulateGrad>();

/** The accumulation node of a leaf that requires grad (one per leaf, made on first use). */
export function accumulatorOf(leaf: Tensor): AccumulateGrad {
  let node = accumulators.get(leaf);
  if (node === undefined) accumulators.set(leaf, (node = new AccumulateGrad(leaf)));
  return node;
}

/** The edge a tensor's gradient flows along: its node's output, or its leaf accumulator. */
export function edgeOf(t: Tensor): Edge | undefined {
  if (!t.requiresGrad) return undefined;
  if (t.gradFn instanceof Node) return t.gradFn.edgeTo(t.outputNr);
  return accumulatorOf(t).edgeTo(0);
}

/** Tensor inputs of an op call in order, tensor lists flattened (a Tensor[] argument is one input per element). */
export function tensorInputs(args: readonly unknown[]): Tensor[] {
  const out: Tensor[] = [];
  for (const a of args) {
    if (a instanceof Tensor) out.push(a);
    else if (Array.isArray(a)) for (const b of a) if (b instanceof Tensor) out.push(b);
  }
  return out;
}

/** Results of an op call as a list (a tuple return is an array). */
export function outputsOf(result: unknown): unknown[] {
  return Array.isArray(result) ? result : [result];
}

/**
 * Records a node for an op call whose inputs include tensors that require grad: its
 * floating outputs get it as gradFn (outputNr by position). `backward` gets one gradient
 * per output (zeros for outputs nothing flowed into) and returns one per tensor input.
 * Returns the node, or undefined when nothing required grad.
 */
export function recordNode(
  name: string,
  inputs: readonly Tensor[],
  outputs: readonly unknown[],
  backward: NodeBackward,
  saved: readonly Tensor[] = [],
  ownsResults = true,
): FunctionNode | undefined {
  const edges = inputs.map(edgeOf);
  if (edges.every((e) => e === undefined)) return undefined;
  const metas = outputs.map((o) => (o instanceof Tensor ? { shape: o.shape, dtype: o.dtype, device: o.device } : undefined));
  const node = new FunctionNode(name, edges, metas, backward, saved.map((t) => new SavedTensor(t, name)), ownsResults);
  outputs.forEach((o, i) => {
    if (o instanceof Tensor && DTYPES[o.dtype].category === 'floating') o.setGradFn(node, i);
  });
  return node;
}

/** The node of an op with no derivative: backward through it is an error naming the op. */
export function recordMissing(op: string, inputs: readonly Tensor[], outputs: readonly unknown[]): void {
  recordNode(`${op}Backward`, inputs, outputs, () => {
    throw openRegError('notImplemented', { call: 'backward', op: `the derivative of ${op}`, device: 'Autograd' });
  });
}

/**
 * Refuses, under grad mode, an op that writes (a schema's `Tensor(a!)`) when a tensor of the
 * call requires grad: a leaf with PyTorch's error; anything else because openreg does not
 * rebase a tensor's history onto an in-place op (a deviation: do it under noGrad()).
 */
export function checkInPlace(schema: OperatorSchema, args: readonly unknown[]): void {
  const written = schema.args.flatMap((a, i) => (a.alias?.write === true && args[i] instanceof Tensor ? [args[i] as Tensor] : []));
  if (written.length === 0 || !tensorInputs(args).some((t) => t.requiresGrad)) return;
  const call = schema.qualifiedName.replace(/^aten::/, '').replace(/\.\w+$/, '');
  if (written.some((t) => t.requiresGrad && t.gradFn === undefined)) throw invalidValue(call, 'a leaf Variable that requires grad is being used in an in-place operation');
  throw invalidValue(call, 'an in-place operation on a tensor that requires grad (or with such an operand) cannot be differentiated; do it under noGrad()');
}

/** Gradients by argument position (a Tensor[] argument gets an array) as one per tensor input, as the node's edges are. */
export function perTensorInput(args: readonly unknown[], grads: readonly unknown[], name: string): (Tensor | undefined)[] {
  const out: (Tensor | undefined)[] = [];
  args.forEach((a, i) => {
    if (a instanceof Tensor) out.push(gradientAt(grads[i], name, i));
    else if (Array.isArray(a) && a.some((b) => b instanceof Tensor)) {
      const list = grads[i];
      if (list !== undefined && list !== null && !Array.isArray(list)) throw invalidValue('backward', `${name} must return an array of gradients for its Tensor[] argument ${i}`, list);
      a.forEach((b, j) => {
        if (b instanceof Tensor) out.push(gradientAt((list as unknown[] | undefined)?.[j], name, i));
      });
    }
  });
  return out;
}

function gradientAt(g: unknown, name: string, i: number): Tensor | undefined {
  if (g === undefined || g === null) return undefined;
  if (!Tensor.isGenuine(g)) throw invalidValue('backward', `${name} returned an invalid gradient at index ${i}: expected a Tensor or undefined`, g);
  return g;
}

let nextHookId = 0;

// Tensor hooks attach to nodes: a non-leaf's to its gradFn (for its output), a leaf's to its accumulator.
setHookRegistrar({
  registerHook(t, fn) {
    const node = t.gradFn instanceof Node ? t.gradFn : accumulatorOf(t);
    const id = nextHookId++;
    const hooks = (node.preHooks ??= new Map());
    hooks.set(id, { outputNr: t.gradFn instanceof Node ? t.outputNr : 0, fn });
    return { remove: () => void hooks.delete(id) };
  },
  registerPostAccumulateGradHook(t, fn) {
    const node = accumulatorOf(t);
    const id = nextHookId++;
    const hooks = (node.postHooks ??= new Map());
    hooks.set(id, fn);
    return { remove: () => void hooks.delete(id) };
  },
});

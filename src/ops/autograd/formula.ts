import { dispatcher } from '../../dispatch/registry.js';
import { excludingKey } from '../../dispatch/dispatch-state.js';
import { Tensor } from '../../tensor/tensor.js';
import { perTensorInput, recordNode, tensorInputs } from './graph.js';

/**
 * A gradient formula, registered at the Autograd key: the kernel runs the op below
 * autograd, then records a node whose backward maps the output's gradient to each
 * argument's (by position; undefined where none flows). `saves` names the tensors the
 * formula reads (argument positions, or 'result'): they are version-checked at backward, so
 * an in-place change to one since is an error rather than a wrong gradient.
 */
type Formula = (g: Tensor, out: Tensor, ...args: never[]) => readonly (Tensor | readonly Tensor[] | undefined)[];
type Saves = readonly (number | 'result')[];
/** A formula told which arguments need a gradient (PyTorch's `needs_input_grad`): it computes no other. */
export type MaskedFormula = (needs: readonly boolean[], g: Tensor, out: Tensor, args: readonly unknown[]) => readonly unknown[];

/** Registers the gradient formula of `name` at the Autograd key, for every argument. */
export function formula(name: string, saves: Saves, fn: Formula): void {
  const f = fn as (g: Tensor, out: Tensor, ...args: unknown[]) => readonly unknown[];
  maskedFormula(name, saves, (_needs, g, out, args) => f(g, out, ...args));
}

/** Registers the gradient formula of `name` at the Autograd key (defineOp's derivatives come through here). */
export function maskedFormula(name: string, saves: Saves, fn: MaskedFormula): void {
  dispatcher.impl('autograd', name, 'Autograd', (next, ...args) => {
    const out = excludingKey('Autograd', () => next(...args));
    // Not a new tensor (to() with nothing to change returns its input): nothing to record.
    if (!(out instanceof Tensor) || args.includes(out)) return out;
    const saved = saves.map((s) => (s === 'result' ? out : (args[s] as Tensor)));
    const node = recordNode(`${name}Backward`, tensorInputs(args), [out], (grads) => perTensorInput(args, fn(needs, grads[0]!, out, args), name), saved);
    // Fixed when recorded, as the node's edges are: an input that needs no gradient gets none computed.
    const needs = node === undefined ? [] : args.map(requiresGradient);
    return out;
  });
}

/** Whether an argument has a gradient to receive: a tensor that requires grad, or a list holding one. */
function requiresGradient(a: unknown): boolean {
  return a instanceof Tensor ? a.requiresGrad : Array.isArray(a) && a.some((b) => b instanceof Tensor && b.requiresGrad);
}

/** Sums a broadcast gradient back to `shape` (the dims broadcasting added or stretched). */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (g.shape.length === shape.length && g.shape.every((n, i) => n === shape[i])) return g;
  const lead = g.ndim - shape.length;
  const dims: number[] = [];
  for (let i = 0; i < g.ndim; i++) if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) dims.push(i);
  const summed = dims.length === 0 ? g : g.sum(dims, true);
  const out = summed.reshape(...shape);
  if (summed !== g) summed.dispose();
  return out;
}

import { invalidValue } from '../errors/errors.js';
import { requireBoolean, requireOptions } from '../errors/validate.js';
import { DTYPES } from '../tensor/dtype.js';
import { noGrad } from '../tensor/grad-mode.js';
import { Tensor } from '../tensor/tensor.js';
import { zeroGradients } from '../nn/module.js';

/** Hyperparameters of a parameter group: numbers and booleans (and betas' pair). */
export type Hyperparameters = Record<string, number | boolean | readonly [number, number]>;

/** A group of parameters sharing hyperparameters (PyTorch's param_groups entries). */
export interface ParamGroup<H extends Hyperparameters = Hyperparameters> {
  params: Tensor[];
  options: H;
}

/** Per-parameter state: tensors on the parameter's device (momentum buffers, moments) and counts. */
export type ParamState = Record<string, Tensor | number>;

/** What an optimizer is given: parameters, or groups of them with their own hyperparameters. */
export type ParamsArgument<H> = Iterable<Tensor> | readonly ({ params: Iterable<Tensor> } & Partial<H>)[];

export interface OptimizerStateDict {
  /** Per parameter, by its index across the groups in order. */
  readonly state: Record<number, ParamState>;
  /** Each group's hyperparameters and its parameters' indices. */
  readonly paramGroups: readonly (Hyperparameters & { params: number[] })[];
}

/**
 * PyTorch's optim.Optimizer: parameter groups with hyperparameters, per-parameter state,
 * zeroGrad and state dicts. `step()` updates parameters in place on their own devices, as
 * device kernels, outside autograd.
 */
export abstract class Optimizer<H extends Hyperparameters = Hyperparameters> {
  readonly paramGroups: ParamGroup<H>[] = [];
  readonly state = new Map<Tensor, ParamState>();
  readonly defaults: H;
  readonly #name: string;
  readonly #check: (call: string, options: H) => H;

  protected constructor(name: string, params: ParamsArgument<H>, defaults: H, check: (call: string, options: H) => H) {
    this.#name = name;
    this.#check = check;
    this.defaults = check(name, defaults);
    if (params === null || typeof params !== 'object' || !(Symbol.iterator in params)) throw invalidValue(name, 'params must be an iterable of Tensors or an array of parameter groups', params);
    const groups = isGroupList(params) ? params : [{ params }];
    const seen = new Set<Tensor>();
    for (const g of groups) {
      if (typeof g !== 'object' || g === null || !('params' in g)) throw invalidValue(name, 'each parameter group must be an object with params', g);
      const { params: list, ...overrides } = g as { params: Iterable<Tensor> } & Partial<H>;
      const tensors = [...list];
      for (const p of tensors) {
        if (!(p instanceof Tensor)) throw invalidValue(name, 'parameters must be Tensors', p);
        if (!p.requiresGrad || p.gradFn !== undefined) throw invalidValue(name, `can't optimize a non-leaf tensor or one that does not require grad: ${p}`);
        if (DTYPES[p.dtype].category !== 'floating') throw invalidValue(name, `can only optimize floating tensors, got ${p.dtype}`);
        if (seen.has(p)) throw invalidValue(name, 'some parameters appear in more than one parameter group (or twice in one)');
        seen.add(p);
      }
      this.paramGroups.push({ params: tensors, options: check(name, { ...this.defaults, ...overrides } as H) });
    }
    if (seen.size === 0) throw invalidValue(name, 'optimizer got an empty parameter list');
  }

  /** Clears the parameters' gradients: undefined (setToNone, the default) or zeros. */
  zeroGrad(options?: { setToNone?: boolean }): void {
    const o = requireOptions<{ setToNone: boolean }>(`${this.#name}.zeroGrad`, options, 'options', ['setToNone']);
    const setToNone = o.setToNone === undefined ? true : requireBoolean(`${this.#name}.zeroGrad`, 'options.setToNone', o.setToNone);
    zeroGradients(this.paramGroups.flatMap((g) => g.params), setToNone);
  }

  /** One update of every parameter that has a gradient. */
  step(): void {
    noGrad(() => {
      for (const g of this.paramGroups) {
        for (const p of g.params) {
          if (p.grad === undefined) continue;
          let s = this.state.get(p);
          if (s === undefined) this.state.set(p, (s = {}));
          this.update(p, p.grad, s, g.options);
        }
      }
    });
  }

  /** Updates one parameter in place from its gradient, its state and its group's options. */
  protected abstract update(param: Tensor, grad: Tensor, state: ParamState, options: H): void;

  /** The state and the groups' hyperparameters, with parameters by index (their order across the groups). */
  stateDict(): OptimizerStateDict {
    const index = new Map<Tensor, number>();
    const paramGroups = this.paramGroups.map((g) => ({ ...g.options, params: g.params.map((p) => index.set(p, index.size).get(p)!) }));
    const state: Record<number, ParamState> = {};
    for (const [p, s] of this.state) {
      const i = index.get(p);
      if (i !== undefined) state[i] = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v instanceof Tensor ? v.detach() : v]));
    }
    return { state, paramGroups };
  }

  /** Restores stateDict()'s result: the groups must hold as many parameters as when it was taken; tensors move to each parameter's device. */
  loadStateDict(stateDict: OptimizerStateDict): void {
    const call = `${this.#name}.loadStateDict`;
    if (typeof stateDict !== 'object' || stateDict === null || !Array.isArray(stateDict.paramGroups) || typeof stateDict.state !== 'object') {
      throw invalidValue(call, 'expected an object with state and paramGroups (from stateDict())', stateDict);
    }
    if (stateDict.paramGroups.length !== this.paramGroups.length) throw invalidValue(call, `the state dict has ${stateDict.paramGroups.length} parameter groups, the optimizer ${this.paramGroups.length}`);
    stateDict.paramGroups.forEach((g, i) => {
      if (!Array.isArray(g.params) || g.params.length !== this.paramGroups[i]!.params.length) throw invalidValue(call, `group ${i} of the state dict has a different number of parameters than the optimizer's`);
    });
    const params = this.paramGroups.flatMap((g) => g.params);
    const restored = new Map<Tensor, ParamState>();
    for (const [key, s] of Object.entries(stateDict.state)) {
      const p = params[Number(key)];
      if (p === undefined) throw invalidValue(call, `the state dict has state for parameter ${key}, the optimizer has ${params.length} parameters`);
      restored.set(p, Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v instanceof Tensor ? v.to(p.device).to(p.dtype) : v])));
    }
    const options = stateDict.paramGroups.map((g) => this.#check(call, { ...this.paramGroups[0]!.options, ...Object.fromEntries(Object.entries(g).filter(([k]) => k !== 'params')) } as H));
    this.paramGroups.forEach((g, i) => (g.options = options[i]!));
    this.state.clear();
    for (const [p, s] of restored) this.state.set(p, s);
  }
}

function isGroupList<H>(params: ParamsArgument<H>): params is readonly ({ params: Iterable<Tensor> } & Partial<H>)[] {
  return Array.isArray(params) && params.length > 0 && !(params[0] instanceof Tensor);
}

import { invalidValue } from '../errors/errors.js';
import { requireBoolean, requireFunction, requireOptions, requireString } from '../errors/validate.js';
import { type DType, type DTypeAlias, DTYPES, dtypeNamed } from '../tensor/dtype.js';
import type { DeviceLike } from '../tensor/device.js';
import { noGrad } from '../tensor/grad-mode.js';
import { Tensor } from '../tensor/tensor.js';
import { Parameter, isParameter } from './parameter.js';

/** Runs after forward with its inputs and output; a returned value replaces the output. */
export type ForwardHook = (module: Module, inputs: readonly unknown[], output: unknown) => unknown;
/** Runs before forward; a returned array replaces the inputs. */
export type ForwardPreHook = (module: Module, inputs: readonly unknown[]) => readonly unknown[] | undefined | void;

/** What registerForwardHook returns: `remove()` takes the hook off. */
export interface RemovableHandle {
  remove(): void;
}

export interface LoadStateDictResult {
  readonly missingKeys: string[];
  readonly unexpectedKeys: string[];
}

/**
 * PyTorch's `nn.Module`. Parameters (tensors made by `Parameter()`), buffers
 * (`registerBuffer`) and submodules are the module's own properties, found in the order they
 * were assigned, as PyTorch's `__setattr__` registers them:
 *
 *     class Net extends nn.Module {
 *       fc1 = new nn.Linear(784, 256);
 *       fc2 = new nn.Linear(256, 10);
 *       forward(x: Tensor) { return this.fc2.call(this.fc1.call(x).relu()); }
 *     }
 *
 * `call(...inputs)` runs the forward pre-hooks, `forward` and the forward hooks (PyTorch's
 * `module(x)`; calling `forward` directly skips the hooks, as in PyTorch).
 */
export abstract class Module {
  /** Training or evaluation mode (dropout and batch norm behave differently): set with train()/eval(). */
  training = true;
  readonly #buffers = new Map<string, boolean>();
  readonly #preHooks = new Map<number, ForwardPreHook>();
  readonly #hooks = new Map<number, ForwardHook>();
  #nextHook = 0;

  abstract forward(...inputs: unknown[]): unknown;

  /** Runs forward with the hooks: PyTorch's `module(*inputs)`. */
  call(...inputs: unknown[]): any {
    let args: readonly unknown[] = inputs;
    for (const hook of [...this.#preHooks.values()]) {
      const replaced = hook(this, args);
      if (replaced !== undefined) {
        if (!Array.isArray(replaced)) throw invalidValue(`${this.constructor.name}.call`, 'a forward pre-hook must return an array of inputs or nothing', replaced);
        args = replaced;
      }
    }
    let output = this.forward(...args);
    for (const hook of [...this.#hooks.values()]) {
      const replaced = hook(this, args, output);
      if (replaced !== undefined) output = replaced;
    }
    return output;
  }

  registerForwardHook(hook: ForwardHook): RemovableHandle {
    return this.#addHook(this.#hooks, requireFunction<ForwardHook>('registerForwardHook', 'hook', hook));
  }

  registerForwardPreHook(hook: ForwardPreHook): RemovableHandle {
    return this.#addHook(this.#preHooks, requireFunction<ForwardPreHook>('registerForwardPreHook', 'hook', hook));
  }

  #addHook<H>(hooks: Map<number, H>, hook: H): RemovableHandle {
    const id = this.#nextHook++;
    hooks.set(id, hook);
    return { remove: () => void hooks.delete(id) };
  }

  /** Adds a parameter under `name` (a property of the module); undefined registers an absent one (a Linear without bias). */
  registerParameter(name: string, param: Tensor | undefined): void {
    const key = this.#newName('registerParameter', name);
    if (param !== undefined && !isParameter(param)) throw invalidValue('registerParameter', 'param must be made by Parameter() (or be undefined)', param);
    this.#set(key, param);
  }

  /** Adds a buffer (state that is not a parameter: running means); non-persistent ones stay out of stateDict(). */
  registerBuffer(name: string, tensor: Tensor | undefined, options?: { persistent?: boolean }): void {
    const key = this.#newName('registerBuffer', name);
    if (tensor !== undefined && !(tensor instanceof Tensor)) throw invalidValue('registerBuffer', 'tensor must be a Tensor (or undefined)', tensor);
    const o = requireOptions<{ persistent: boolean }>('registerBuffer', options, 'options', ['persistent']);
    this.#buffers.set(key, o.persistent === undefined ? true : requireBoolean('registerBuffer', 'options.persistent', o.persistent));
    this.#set(key, tensor);
  }

  /** Adds a submodule under `name` (as assigning a property does). */
  registerModule(name: string, module: Module | undefined): void {
    const key = this.#newName('registerModule', name);
    if (module !== undefined && !(module instanceof Module)) throw invalidValue('registerModule', 'module must be a Module (or undefined)', module);
    this.#set(key, module);
  }

  #newName(call: string, name: unknown): string {
    const key = requireString(call, 'name', name);
    if (key.includes('.')) throw invalidValue(call, 'name must not contain "."', name);
    if (key === 'training') throw invalidValue(call, 'name "training" is taken by the module', name);
    return key;
  }

  #set(key: string, value: unknown): void {
    (this as unknown as Record<string, unknown>)[key] = value;
  }

  #own(): [string, unknown][] {
    return Object.entries(this);
  }

  /** This module's own parameters, in assignment order. */
  #ownParameters(): [string, Tensor][] {
    return this.#own().filter((e): e is [string, Tensor] => isParameter(e[1]));
  }

  #ownBuffers(persistentOnly: boolean): [string, Tensor][] {
    return [...this.#buffers].flatMap(([name, persistent]) => {
      const t = (this as unknown as Record<string, unknown>)[name];
      return t instanceof Tensor && (persistent || !persistentOnly) ? [[name, t] as [string, Tensor]] : [];
    });
  }

  /** [name, submodule] for the direct children. */
  namedChildren(): [string, Module][] {
    return this.#own().filter((e): e is [string, Module] => e[1] instanceof Module);
  }

  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** This module and every descendant, each once, with its dotted path ('' for this one). */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [];
    const seen = new Set<Module>();
    const visit = (m: Module, path: string) => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([path, m]);
      for (const [name, child] of m.namedChildren()) visit(child, path === '' ? name : `${path}.${name}`);
    };
    visit(this, prefix);
    return out;
  }

  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** [dotted name, parameter] of this module (and its descendants, with `recurse`), each tensor once. */
  namedParameters(options?: { prefix?: string; recurse?: boolean }): [string, Tensor][] {
    return this.#collect('namedParameters', options, (m) => m.#ownParameters());
  }

  parameters(options?: { recurse?: boolean }): Tensor[] {
    return this.namedParameters(options).map(([, p]) => p);
  }

  namedBuffers(options?: { prefix?: string; recurse?: boolean }): [string, Tensor][] {
    return this.#collect('namedBuffers', options, (m) => m.#ownBuffers(false));
  }

  buffers(options?: { recurse?: boolean }): Tensor[] {
    return this.namedBuffers(options).map(([, b]) => b);
  }

  #collect(call: string, options: unknown, own: (m: Module) => [string, Tensor][]): [string, Tensor][] {
    const o = requireOptions<{ prefix: string; recurse: boolean }>(call, options, 'options', ['prefix', 'recurse']);
    const recurse = o.recurse === undefined ? true : requireBoolean(call, 'options.recurse', o.recurse);
    if (o.prefix !== undefined && typeof o.prefix !== 'string') throw invalidValue(call, 'options.prefix must be a string', o.prefix);
    const seen = new Set<Tensor>();
    const out: [string, Tensor][] = [];
    for (const [path, m] of recurse ? this.namedModules(o.prefix ?? '') : [[o.prefix ?? '', this] as [string, Module]]) {
      for (const [name, t] of own(m)) {
        if (seen.has(t)) continue;
        seen.add(t);
        out.push([path === '' ? name : `${path}.${name}`, t]);
      }
    }
    return out;
  }

  /** Training mode (true) or evaluation mode, for this module and every descendant. */
  train(mode = true): this {
    requireBoolean('train', 'mode', mode);
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Calls `fn` on every descendant, then on this module (PyTorch's Module.apply, for initialization). */
  apply(fn: (module: Module) => void): this {
    requireFunction('apply', 'fn', fn);
    for (const m of this.modules().reverse()) fn(m);
    return this;
  }

  /**
   * Moves every parameter and buffer to a device, or casts the floating ones to a dtype (in
   * place, as PyTorch does; the properties then hold the moved tensors, so make optimizers after).
   */
  to(target: DeviceLike | DType | DTypeAlias): this {
    if (target === undefined || target === null) throw invalidValue('Module.to', 'a device or a dtype is needed', target);
    const dtype = dtypeNamed(target);
    const move = (t: Tensor): Tensor => (dtype !== undefined && DTYPES[t.dtype].category !== 'floating' ? t : t.to(target as DType));
    noGrad(() => {
      for (const m of this.modules()) {
        for (const [name, value] of m.#own()) {
          if (isParameter(value)) {
            const moved = Parameter(move(value), value.requiresGrad);
            if (value.grad !== undefined) moved.grad = move(value.grad);
            m.#set(name, moved);
          }
        }
        for (const [name, t] of m.#ownBuffers(false)) m.#set(name, move(t));
      }
    });
    return this;
  }

  /** Clears the gradients of every parameter: undefined (setToNone, the default) or zeros. */
  zeroGrad(options?: { setToNone?: boolean }): void {
    const o = requireOptions<{ setToNone: boolean }>('zeroGrad', options, 'options', ['setToNone']);
    const setToNone = o.setToNone === undefined ? true : requireBoolean('zeroGrad', 'options.setToNone', o.setToNone);
    zeroGradients(this.parameters(), setToNone);
  }

  /** Every parameter and persistent buffer by dotted name (detached: they share the module's storage). */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [path, m] of this.namedModules()) {
      for (const [name, t] of [...m.#ownParameters(), ...m.#ownBuffers(true)]) {
        const key = path === '' ? name : `${path}.${name}`;
        if (!(key in out)) out[key] = t.detach();
      }
    }
    return out;
  }

  /**
   * Copies a state dict's tensors into the parameters and buffers (any device or dtype that
   * converts). With `strict` (the default) the keys must match exactly; shapes must match
   * always. Checked before anything is copied, so a refused dict changes nothing.
   */
  loadStateDict(stateDict: Record<string, Tensor>, options?: { strict?: boolean }): LoadStateDictResult {
    const call = 'loadStateDict';
    if (typeof stateDict !== 'object' || stateDict === null) throw invalidValue(call, 'stateDict must be an object of tensors', stateDict);
    const o = requireOptions<{ strict: boolean }>(call, options, 'options', ['strict']);
    const strict = o.strict === undefined ? true : requireBoolean(call, 'options.strict', o.strict);
    const own = this.stateDict();
    const unexpectedKeys = Object.keys(stateDict).filter((k) => !(k in own));
    const missingKeys = Object.keys(own).filter((k) => !(k in stateDict));
    const problems: string[] = [];
    if (strict && unexpectedKeys.length > 0) problems.push(`unexpected keys ${unexpectedKeys.join(', ')}`);
    if (strict && missingKeys.length > 0) problems.push(`missing keys ${missingKeys.join(', ')}`);
    for (const [key, target] of Object.entries(own)) {
      const source = stateDict[key];
      if (source === undefined) continue;
      if (!(source instanceof Tensor)) problems.push(`${key} is not a Tensor`);
      else if (source.shape.join() !== target.shape.join()) problems.push(`${key} has shape [${source.shape.join(', ')}], the module's is [${target.shape.join(', ')}]`);
    }
    if (problems.length > 0) throw invalidValue(call, `error(s) in loading the state dict for ${this.constructor.name}: ${problems.join('; ')}`);
    noGrad(() => {
      for (const [key, target] of Object.entries(own)) if (stateDict[key] !== undefined) target.copy_(stateDict[key]!);
    });
    return { missingKeys, unexpectedKeys };
  }

  /** The line inside the parentheses of this module's repr (PyTorch's extra_repr). */
  extraRepr(): string {
    return '';
  }

  /** PyTorch's module repr: `Sequential(\n  (0): Linear(in_features=784, …)\n)`. */
  toString(): string {
    const children = this.namedChildren();
    const extra = this.extraRepr();
    if (children.length === 0) return `${this.constructor.name}(${extra})`;
    const lines = [...(extra === '' ? [] : [extra]), ...children.map(([name, m]) => `(${name}): ${m.toString().replace(/\n/g, '\n  ')}`)];
    return `${this.constructor.name}(\n  ${lines.join('\n  ')}\n)`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }
}

/** Clears `params`' gradients: drops them (setToNone) or zeroes them in place. */
export function zeroGradients(params: readonly Tensor[], setToNone: boolean): void {
  noGrad(() => {
    for (const p of params) {
      if (p.grad === undefined) continue;
      if (setToNone) p.grad = undefined;
      else p.grad.zero_();
    }
  });
}

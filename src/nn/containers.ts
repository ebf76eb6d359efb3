import { invalidValue } from '../errors/errors.js';
import { requireInteger } from '../errors/validate.js';
import { Module } from './module.js';

/** Children under '0', '1', …: the containers' shared bookkeeping. */
function indexed(owner: Module): Module[] {
  return owner.namedChildren().filter(([name]) => /^\d+$/.test(name)).map(([, m]) => m);
}

function checkModule(call: string, m: unknown): Module {
  if (!(m instanceof Module)) throw invalidValue(call, 'expected a Module', m);
  return m;
}

/** The bookkeeping both containers share: children under '0', '1', …, indexing, appending and iteration. */
abstract class IndexedModules extends Module {
  get length(): number {
    return indexed(this).length;
  }

  /** The module at index i (negative counts from the end). */
  at(i: number): Module {
    return at(`${this.constructor.name}.at`, indexed(this), i);
  }

  append(module: Module): this {
    this.registerModule(String(this.length), checkModule(`${this.constructor.name}.append`, module));
    return this;
  }

  [Symbol.iterator](): Iterator<Module> {
    return indexed(this)[Symbol.iterator]();
  }
}

/** Modules applied in order, each to the previous one's output (PyTorch's nn.Sequential). */
export class Sequential extends IndexedModules {
  constructor(...modules: Module[]) {
    super();
    modules.forEach((m, i) => this.registerModule(String(i), checkModule('Sequential', m)));
  }

  forward(input: unknown): any {
    let x = input;
    for (const m of indexed(this)) x = m.call(x);
    return x;
  }
}

/** A list of modules whose parameters belong to the owner (PyTorch's nn.ModuleList); it has no forward of its own. */
export class ModuleList extends IndexedModules {
  constructor(modules: Iterable<Module> = []) {
    super();
    for (const m of modules) this.append(m);
  }

  extend(modules: Iterable<Module>): this {
    for (const m of modules) this.append(m);
    return this;
  }

  forward(): never {
    throw invalidValue('ModuleList.forward', 'a ModuleList has no forward: iterate over it and call its modules');
  }
}

function at(call: string, list: readonly Module[], i: number): Module {
  const n = list.length;
  requireInteger(call, 'index', i, -n, n - 1);
  return list[i < 0 ? i + n : i]!;
}

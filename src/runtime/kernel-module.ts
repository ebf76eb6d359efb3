import { invalidValue } from '../errors/errors.js';
import { kKernelId, kOwner } from './symbols.js';
import { KERNEL_INDEX_BITS } from '../protocol/worker-protocol.js';

/** A function of a loaded module, launchable on any device (`cudaFunction_t`). */
export class Kernel {
  readonly name: string;
  readonly module: KernelModule;
  /** @internal */
  readonly [kKernelId]: number;
  /** @internal The runtime that loaded the kernel (checked on every launch). */
  readonly [kOwner]: object;

  /** @internal */
  constructor(module: KernelModule, name: string, id: number) {
    this.module = module;
    this.name = name;
    this[kKernelId] = id;
    this[kOwner] = module[kOwner];
  }

  toString(): string {
    return `Kernel(${this.name})`;
  }
}

/** A module of kernels, imported in every device worker (`cudaLibrary_t`). */
export class KernelModule {
  readonly url: string;
  /** Names of the module's function exports, sorted. */
  readonly functionNames: readonly string[];
  /** @internal */
  readonly [kOwner]: object;
  readonly #kernels = new Map<string, Kernel>();

  /** @internal */
  constructor(owner: object, moduleId: number, url: string, names: readonly string[]) {
    this[kOwner] = owner;
    this.url = url;
    this.functionNames = names;
    names.forEach((name, index) => this.#kernels.set(name, new Kernel(this, name, (moduleId << KERNEL_INDEX_BITS) | index)));
  }

  getFunction(name: string): Kernel {
    const kernel = typeof name === 'string' ? this.#kernels.get(name) : undefined;
    if (kernel === undefined) {
      throw invalidValue('getFunction', `module ${this.url} has no exported function of that name (it has: ${this.functionNames.join(', ') || 'none'})`, name);
    }
    return kernel;
  }
}

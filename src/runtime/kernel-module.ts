import { invalidValue } from '../errors/errors.js';
import { kKernelId, kOwner } from './symbols.js';
import { KERNEL_INDEX_BITS } from '../protocol/worker-protocol.js';
import type { KernelArg } from '../protocol/command.js';
import type { KernelSignature } from '../protocol/kernel-abi.js';

/** From a launch's arguments, the byte ranges `[ptr, bytes]` the kernel reads and writes. */
export type KernelAccesses = (args: readonly KernelArg[]) => { reads?: readonly (readonly [number, number])[]; writes?: readonly (readonly [number, number])[] };

/** A function of a loaded module, launchable on any device (`cudaFunction_t`). */
export class Kernel {
  readonly name: string;
  readonly module: KernelModule;
  /** @internal */
  readonly [kKernelId]: number;
  /** @internal The runtime that loaded the kernel (checked on every launch). */
  readonly [kOwner]: object;

  /** The typed kernel's signature (its launches take an object of named arguments), or undefined for a kernel of plain arguments. */
  readonly signature: KernelSignature | undefined;

  /** @internal */
  constructor(module: KernelModule, name: string, id: number, signature: KernelSignature | undefined) {
    this.module = module;
    this.name = name;
    this.signature = signature;
    this[kKernelId] = id;
    this[kOwner] = module[kOwner];
  }

  /** @internal The access declaration, if any (see declareAccesses). */
  accesses: KernelAccesses | undefined;

  /**
   * Declares which bytes the kernel reads and writes, from its arguments, once for every
   * launch (the stream sanitizer's input; a launch's own `{ reads, writes }` takes precedence):
   * `add.declareAccesses(([a, b, out, n]) => ({ reads: [[a, n * 4], [b, n * 4]], writes: [[out, n * 4]] }))`.
   */
  declareAccesses(accesses: KernelAccesses | undefined): this {
    if (accesses !== undefined && typeof accesses !== 'function') throw invalidValue('declareAccesses', 'accesses must be a function of the launch arguments (or undefined to drop it)', accesses);
    this.accesses = accesses;
    return this;
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
  constructor(owner: object, moduleId: number, url: string, names: readonly string[], signatures: readonly (KernelSignature | null)[] = []) {
    this[kOwner] = owner;
    this.url = url;
    this.functionNames = names;
    names.forEach((name, index) => this.#kernels.set(name, new Kernel(this, name, (moduleId << KERNEL_INDEX_BITS) | index, signatures[index] ?? undefined)));
  }

  getFunction(name: string): Kernel {
    const kernel = typeof name === 'string' ? this.#kernels.get(name) : undefined;
    if (kernel === undefined) {
      throw invalidValue('getFunction', `module ${this.url} has no exported function of that name (it has: ${this.functionNames.join(', ') || 'none'})`, name);
    }
    return kernel;
  }
}

import { AsyncLocalStorage } from 'node:async_hooks';
import { invalidValue } from '../errors/errors.js';
import { requireFunction } from '../errors/validate.js';
import { withinBounds } from '../device/host-waiter.js';
import type { StreamQueue } from '../device/stream-queue.js';
import { type KernelArg, MAX_INLINE_ARG_WORDS, MAX_KERNEL_ARGS, isEncodableBigInt } from '../protocol/command.js';
import { ArgumentWords, isKernelSignature } from '../protocol/kernel-abi.js';
import type { LoadedModule } from '../protocol/worker-protocol.js';
import { encodeTypedLaunch } from './typed-launch.js';
import { BUILTIN_KERNELS, BUILTIN_MODULE_ID } from '../protocol/tensor-kernel-signatures.js';
import { Kernel, KernelModule } from './kernel-module.js';
import type { RuntimeCore } from './runtime-core.js';
import { kKernelId, kOwner } from './symbols.js';
import { Stream } from './handles.js';
import type { LaunchOptions } from './launch-options.js';
import type { RuntimeEvents } from './observer.js';

/** Stages a long argument block in device memory in `queue`'s order: its pointer, and a release once the launch is enqueued. */
export type StageArguments = (queue: StreamQueue, words: Float64Array, count: number) => { ptr: number; release(): void };

const OPTION_KEYS = new Set(['stream', 'reads', 'writes']);

/** A plain object of launch options (anything else in the third place must be a stream handle). */
function isLaunchOptions(value: unknown): value is LaunchOptions {
  if (value === null || typeof value !== 'object' || value instanceof Stream || Object.getPrototypeOf(value) !== Object.prototype) return false;
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((k) => OPTION_KEYS.has(k));
}

function declaredAccesses(call: string, kernel: Kernel, args: readonly KernelArg[]): LaunchOptions {
  try {
    return kernel.accesses!(args);
  } catch (error) {
    throw invalidValue(call, `the access declaration of ${kernel.name} threw: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function ranges(call: string, name: string, value: unknown): readonly (readonly [number, number])[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalidValue(call, `${name} must be an array of [ptr, bytes] pairs`, value);
  for (const [i, r] of value.entries()) {
    if (!Array.isArray(r) || r.length !== 2 || !Number.isSafeInteger(r[0]) || !Number.isSafeInteger(r[1]) || r[1] < 0) throw invalidValue(call, `${name}[${i}] must be a [ptr, bytes] pair of integers`, r);
  }
  return value as readonly (readonly [number, number])[];
}

/** Kernels: modules loaded into every worker, launches, and host functions. */
export class KernelService {
  readonly #core: RuntimeCore;
  readonly #hostScope = new AsyncLocalStorage<RuntimeEvents['hostFunction']>();
  /** Public typed launches encode here (one launch at a time on the main thread). */
  readonly #words = new ArgumentWords();
  /** Module 0 is the built-ins, which every worker installs itself. */
  #nextModuleId = BUILTIN_MODULE_ID + 1;

  /** @internal */
  constructor(core: RuntimeCore) {
    this.#core = core;
  }

  /** The built-in kernels (tensor kernels, random fills, the injected fault): known to both sides, loaded by no one. */
  builtinModule(): KernelModule {
    const core = this.#core;
    const module = new KernelModule(core.owner, BUILTIN_MODULE_ID, 'openreg:builtin-kernels', BUILTIN_KERNELS.map((k) => k.name), BUILTIN_KERNELS.map((k) => k.signature));
    for (const name of module.functionNames) core.kernelNames.set(module.getFunction(name)[kKernelId], name);
    return module;
  }

  /**
   * `options` bound the load: a device whose worker has not finished importing by then (a
   * top-level infinite loop, a top-level await that never settles) is abandoned, lost until
   * deviceReset.
   */
  async loadModule(url: unknown, options?: unknown): Promise<KernelModule> {
    const call = 'loadModule';
    const core = this.#core;
    core.open(call);
    const bounds = core.waitBounds(call, options);
    let href: string;
    if (url instanceof URL) href = url.href;
    else if (typeof url === 'string' && url.startsWith('file:')) href = url;
    else if (typeof url === 'string' && url.startsWith('/')) href = new URL(`file://${url}`).href;
    else throw invalidValue(call, 'url must be a file: URL or an absolute path', url);
    const id = this.#nextModuleId++;
    const live = core.devices.filter((d) => !d.isLost);
    const done = live.map(() => false);
    const loads = live.map((d, i) => d.call(call, (r) => r.loadModule(id, href)).finally(() => (done[i] = true)));
    let names: LoadedModule[];
    try {
      names = await (bounds === undefined ? Promise.all(loads) : withinBounds(Promise.all(loads), bounds));
    } catch (error) {
      for (const [i, d] of live.entries()) if (!done[i]) await d.abandon(`loadModule: importing ${href} did not finish`);
      throw error;
    }
    // Only modules that loaded are reloaded into a restarted worker.
    core.modules.push({ id, url: href });
    const loaded = names[0] ?? { names: [], signatures: [] };
    const module = new KernelModule(core.owner, id, href, loaded.names, loaded.signatures.map((s) => (s !== null && isKernelSignature(s) ? s : null)));
    for (const name of module.functionNames) core.kernelNames.set(module.getFunction(name)[kKernelId], name);
    return module;
  }

  /**
   * `stage` puts an argument block too long to ride in the command into device memory, in
   * the stream's order, and returns its pointer (the caller owns the device allocators).
   */
  launchKernel(kernel: unknown, args: unknown, streamOrOptions: unknown, stage: StageArguments): void {
    const call = 'launchKernel';
    const core = this.#core;
    core.open(call);
    if (!(kernel instanceof Kernel) || kernel[kOwner] !== core.owner) throw invalidValue(call, 'kernel must be a Kernel of this runtime', kernel);
    if (kernel.signature !== undefined) {
      const options = isLaunchOptions(streamOrOptions) ? streamOrOptions : undefined;
      const accesses = encodeTypedLaunch(call, kernel.name, kernel.signature, args, this.#words);
      // Declared ranges replace the signature's field by field; a bare { stream } keeps them.
      const declared = {
        reads: options?.reads === undefined ? accesses.reads : ranges(call, 'options.reads', options.reads),
        writes: options?.writes === undefined ? accesses.writes : ranges(call, 'options.writes', options.writes),
      };
      this.launchTyped(call, kernel, this.#words.data, this.#words.length, options === undefined ? streamOrOptions : options.stream, declared, stage);
      return;
    }
    if (!Array.isArray(args)) throw invalidValue(call, 'args must be an array', args);
    if (args.length > MAX_KERNEL_ARGS) throw invalidValue(call, `at most ${MAX_KERNEL_ARGS} arguments are supported, got ${args.length}`);
    for (let i = 0; i < args.length; i++) {
      const a: unknown = args[i];
      const t = typeof a;
      if (t !== 'number' && t !== 'boolean' && !(t === 'bigint' && isEncodableBigInt(a as bigint))) {
        throw invalidValue(call, `args[${i}] of ${kernel.name} must be a number, a boolean or a 64-bit bigint`, a);
      }
    }
    // The third argument is a stream, or options declaring the bytes the kernel reads and writes.
    const options = isLaunchOptions(streamOrOptions) ? streamOrOptions : undefined;
    const queue = core.queueOrCurrent(call, options === undefined ? streamOrOptions : options.stream);
    // The launch's own declaration, else the kernel's (only worth computing while someone listens).
    const declared = options === undefined && kernel.accesses !== undefined && core.observer.listeners.kernelLaunch !== undefined ? declaredAccesses(call, kernel, args as KernelArg[]) : options;
    const reads = declared === undefined ? undefined : ranges(call, 'options.reads', declared.reads);
    const writes = declared === undefined ? undefined : ranges(call, 'options.writes', declared.writes);
    queue.device.throwIfFailed(call);
    const fault = core.faults.take(queue.device.index, 'kernel');
    if (fault !== undefined) return this.launch(call, queue, core.faultKernel!, [fault]);
    this.launch(call, queue, kernel, args as KernelArg[], reads, writes);
  }

  /**
   * Enqueues a typed launch of `count` encoded argument words (also the tensor kernels',
   * under their op's call name); `accesses` are the bytes it reads and writes.
   */
  launchTyped(call: string, kernel: Kernel, words: Float64Array, count: number, stream: unknown, accesses: LaunchOptions | undefined, stage: StageArguments): void {
    const core = this.#core;
    const queue = core.queueOrCurrent(call, stream);
    queue.device.throwIfFailed(call);
    const fault = core.faults.take(queue.device.index, 'kernel');
    if (fault !== undefined) return this.launch(call, queue, core.faultKernel!, [fault]);
    this.enqueueTyped(call, queue, kernel, words, count, accesses, stage);
  }

  /** Enqueues a checked typed launch on `queue` (the built-in random fills come here directly); `stage` is needed only for a long block. */
  enqueueTyped(call: string, queue: StreamQueue, kernel: Kernel, words: Float64Array, count: number, accesses: LaunchOptions | undefined, stage?: StageArguments): void {
    const core = this.#core;
    if (count > MAX_INLINE_ARG_WORDS && stage === undefined) throw invalidValue(call, `${kernel.name}'s ${count} argument words need an argument block, which this launch cannot stage`);
    // Staging allocates, and allocation hooks may launch: the shared words are copied first.
    const block = count > MAX_INLINE_ARG_WORDS ? stage!(queue, words.slice(0, count), count) : undefined;
    let seq: number;
    try {
      seq = core.observer.timing
        ? core.traced(call, queue, () => queue.enqueueTypedKernel(kernel[kKernelId], words, count, block?.ptr, call))
        : queue.enqueueTypedKernel(kernel[kKernelId], words, count, block?.ptr, call);
    } finally {
      block?.release();
    }
    if (core.observer.listeners.kernelLaunch !== undefined) this.#emitLaunch(call, queue, seq, kernel, Array.from(words.subarray(0, count)), accesses?.reads, accesses?.writes);
  }

  /** Enqueues a validated launch on `queue` (also the built-in kernels behind the random fills, under their own call name). */
  launch(call: string, queue: StreamQueue, kernel: Kernel, args: readonly KernelArg[], reads?: readonly (readonly [number, number])[], writes?: readonly (readonly [number, number])[]): void {
    const core = this.#core;
    // The timed path lives in its own method: a closure here would cost every launch a context.
    const seq = core.observer.timing ? this.#launchTimed(call, queue, kernel, args) : queue.enqueueKernel(kernel[kKernelId], args, call);
    if (core.observer.listeners.kernelLaunch !== undefined) this.#emitLaunch(call, queue, seq, kernel, args, reads, writes);
  }

  #emitLaunch(call: string, queue: StreamQueue, seq: number, kernel: Kernel, args: readonly KernelArg[], reads?: readonly (readonly [number, number])[], writes?: readonly (readonly [number, number])[]): void {
    const core = this.#core;
    core.observer.emit('kernelLaunch', { device: queue.device.index, stream: core.handleOf(queue), seq, kernel: kernel.name, argc: args.length, call, args, reads, writes });
  }

  launchHostFunc(stream: unknown, fn: unknown): void {
    const call = 'launchHostFunc';
    const core = this.#core;
    const queue = core.queueOrCurrent(call, stream);
    const body = requireFunction<() => unknown>(call, 'fn', fn);
    queue.device.throwIfFailed(call);
    const seq = core.traced(call, queue, () => queue.enqueueHostFunction(call));
    if (core.observer.listeners.hostFunction === undefined) {
      core.hostFunctions.add(queue, seq, body);
      core.waiter.arm();
      return;
    }
    const event = { device: queue.device.index, stream: core.handleOf(queue), seq, call };
    // While it runs (and in what it awaits), its observers can tell which stream position the host is at.
    core.hostFunctions.add(queue, seq, () => this.#hostScope.run(event, body));
    core.waiter.arm();
    core.observer.emit('hostFunction', event);
  }

  /** The observed host function whose code (or an async continuation of it) is running, as its hostFunction event. */
  currentHostFunction(): RuntimeEvents['hostFunction'] | undefined {
    return this.#hostScope.getStore();
  }

  #launchTimed(call: string, queue: StreamQueue, kernel: Kernel, args: readonly KernelArg[]): number {
    return this.#core.traced(call, queue, () => queue.enqueueKernel(kernel[kKernelId], args, call));
  }
}

import { invalidHandle, invalidValue, openRegError, runtimeClosed } from '../errors/errors.js';
import type { Runtime } from '../api/runtime.js';
import { requireBoolean, requireOptions } from '../errors/validate.js';
import { OpenRegError } from '../errors/openreg-error.js';
import { Stream } from '../runtime/handles.js';
import type { WaitOptions } from '../runtime/wait-options.js';
import { dispatcher } from '../dispatch/registry.js';
import type { DispatchKey } from '../dispatch/dispatcher.js';
import type { OperatorSchema } from '../dispatch/schema.js';
import { type Binder, compileBinder } from './argument-binding.js';
import { tensorRepr } from './tensor-repr.js';

/** How long printing a tensor waits for its values before it shows them as pending: a device worker that is still starting on a loaded machine takes hundreds of ms. */
const REPR_WAIT_MS = 2000;
import { DTYPES, type DType, type DTypeAlias, dtypeNamed } from './dtype.js';

import { type DeviceLike, TensorDevice } from './device.js';
import { type NestedArray, type TensorData, nest } from './host-data.js';
import { type DispatchState, dispatchState } from '../dispatch/dispatch-state.js';
import { type Shape, checkDim, contiguousStrides, isContiguous, numel } from './shape.js';
import type { Storage } from './storage.js';
import { type StorageLink, leaveToCollector } from './collection-backstop.js';

/** A node of the autograd graph (`grad_fn`): the op call that made a tensor. */
export interface GradNode {
  readonly name: string;
  /** Where each tensor input's gradient flows: its node and which output of it the input was (`next_functions`). */
  readonly nextFunctions: readonly (readonly [GradNode, number] | undefined)[];
}

/** A tensor hook: sees the gradient flowing into the tensor; a Tensor it returns replaces it. */
export type GradHook = (grad: Tensor) => Tensor | undefined | void;

/** A registered hook; `remove()` unregisters it. */
export interface RemovableHandle {
  remove(): void;
}

/** How the autograd layer (above this one) attaches hooks: set once by it. */
export interface HookRegistrar {
  registerHook(t: Tensor, fn: GradHook): RemovableHandle;
  registerPostAccumulateGradHook(t: Tensor, fn: (t: Tensor) => void): RemovableHandle;
}
let hookRegistrar: HookRegistrar | undefined;

/** @internal The autograd layer registers how tensor hooks attach to its nodes. */
export function setHookRegistrar(registrar: HookRegistrar): void {
  hookRegistrar = registrar;
}

/** Wrapper keys a later mechanism adds in front of Autograd (autocast): `(tensors) => keys`. */
const wrapperKeySources: ((tensors: readonly Tensor[], state: DispatchState) => DispatchKey | undefined)[] = [];

/** @internal Lets a mechanism above the tensor layer (autocast) add its key to calls. */
export function addWrapperKeySource(source: (tensors: readonly Tensor[], state: DispatchState) => DispatchKey | undefined): void {
  wrapperKeySources.push(source);
}

/**
 * Registration is dear for the garbage collector (a weak cell per tensor), and most tensors
 * are temporaries disposed at once. New tensors wait here, held, and are registered when the
 * current job ends (or this many of them, or bytes, have gathered) if they are still alive:
 * one disposed before then never costs a registration.
 */
/** The frozen contiguous strides of each frozen shape, made once (tensors of one shape share them). */
const contiguousOf = new WeakMap<Shape, readonly number[]>();

function stridesOfContiguous(shape: Shape): readonly number[] {
  if (!Object.isFrozen(shape)) return contiguousStrides(shape);
  let strides = contiguousOf.get(shape);
  if (strides === undefined) contiguousOf.set(shape, (strides = Object.freeze(contiguousStrides(shape))));
  return strides;
}

const NURSERY_TENSORS = 1024;
const NURSERY_BYTES = 64 * 1024 * 1024;

/**
 * A strided view of a storage: dtype, shape, strides and storage offset (in elements), on
 * one device. Ops go through the dispatcher; on `openreg` they run as kernels on the
 * device's current stream, so a method returns before the values exist; reads wait.
 */
export class Tensor implements Disposable {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  /** Offset of the first element in the storage, in elements. */
  readonly storageOffset: number;
  readonly device: TensorDevice;
  /** Autograd: the gradient accumulated by backward() (leaves that require grad). */
  #grad: Tensor | undefined;
  #gradFn: GradNode | undefined;
  #outputNr = 0;
  #requiresGrad = false;
  #storage: Storage | undefined;
  readonly #link: StorageLink;
  /** @internal */
  readonly meta: boolean;

  /** @internal use the factories (tensor, zeros, empty, …) */
  constructor(storage: Storage, dtype: DType, shape: Shape, strides: readonly number[], storageOffset: number) {
    if (typeof storage !== 'object' || storage === null || !Array.isArray(shape)) throw invalidValue('Tensor', 'tensors are made by the factories (tensor, zeros, empty, …), not by new Tensor()', storage);
    this.dtype = dtype;
    // A frozen array is taken as it is (an op's result often has its input's shape): freezing a copy costs more than the rest of the constructor.
    this.shape = Object.isFrozen(shape) ? shape : Object.freeze([...shape]);
    this.strides = Object.isFrozen(strides) ? strides : Object.freeze([...strides]);
    this.storageOffset = storageOffset;
    this.device = storage.device;
    this.meta = storage.device.type === 'meta';
    this.#storage = storage;
    this.#link = { storage };
    Tensor.#adopt(this, storage.nbytes);
  }

  static #nursery: Tensor[] = [];
  static #nurseryBytes = 0;
  static #flushQueued = false;

  static #adopt(t: Tensor, bytes: number): void {
    const nursery = Tensor.#nursery;
    nursery.push(t);
    Tensor.#nurseryBytes += bytes;
    if (nursery.length >= NURSERY_TENSORS || Tensor.#nurseryBytes >= NURSERY_BYTES) Tensor.#flush();
    else if (!Tensor.#flushQueued) {
      Tensor.#flushQueued = true;
      queueMicrotask(Tensor.#flush);
    }
  }

  /** Registers the nursery's tensors that are still alive with the garbage-collection backstop. */
  static #flush = (): void => {
    Tensor.#flushQueued = false;
    for (const t of Tensor.#nursery) {
      const storage = t.#link.storage;
      if (storage === undefined) continue;
      leaveToCollector(t, t.#link, storage);
    }
    Tensor.#nursery.length = 0;
    Tensor.#nurseryBytes = 0;
  };

  /** @internal A tensor over new memory (contiguous). */
  static over(storage: Storage, dtype: DType, shape: Shape): Tensor {
    return new Tensor(storage, dtype, shape, stridesOfContiguous(shape), 0);
  }

  /** @internal A view sharing this tensor's storage. */
  viewAs(shape: Shape, strides: readonly number[], storageOffset: number): Tensor {
    const storage = this.storage('view');
    storage.retain();
    return new Tensor(storage, this.dtype, shape, strides, storageOffset);
  }

  /** @internal True for tensors this class made (not `Object.create(Tensor.prototype)`). */
  static isGenuine(value: unknown): value is Tensor {
    return typeof value === 'object' && value !== null && #storage in value;
  }

  /** @internal The storage; throws once the tensor is disposed. */
  storage(call: string): Storage {
    if (!Tensor.isGenuine(this)) throw malformedTensor(call, this);
    if (this.#storage === undefined) throw openRegError('invalidHandle', { call, problem: `${this.toString()} was disposed` });
    return this.#storage;
  }

  /** True for leaves that asked for gradients and for every tensor computed from them with grad mode on. */
  get requiresGrad(): boolean {
    return this.#requiresGrad || this.gradFn !== undefined;
  }

  /** Autograd: the gradient accumulated by backward() (leaves that require grad); assignable with a tensor like this one, or undefined. */
  get grad(): Tensor | undefined {
    return this.#grad;
  }

  set grad(value: Tensor | undefined) {
    const call = 'grad';
    if (!Tensor.isGenuine(this)) throw malformedTensor(call, this);
    if (value !== undefined) {
      if (!Tensor.isGenuine(value)) throw invalidValue(call, 'assigned grad expected to be a Tensor or undefined', value);
      if (value.shape.join() !== this.shape.join()) throw invalidValue(call, `assigned grad has shape [${value.shape.join(', ')}], the tensor has shape [${this.shape.join(', ')}]`);
      if (value.dtype !== this.dtype) throw invalidValue(call, `assigned grad has dtype ${value.dtype}, the tensor has dtype ${this.dtype}`);
      if (!value.device.equals(this.device)) throw invalidValue(call, `assigned grad is on ${value.device}, the tensor is on ${this.device}`);
    }
    this.#grad = value;
  }

  set requiresGrad(value: boolean) {
    if (!Tensor.isGenuine(this)) throw malformedTensor('requiresGrad', this);
    if (typeof value !== 'boolean') throw invalidValue('requiresGrad', 'must be a boolean', value);
    if (value && DTYPES[this.dtype].category !== 'floating') throw invalidValue('requiresGrad', `only floating-point tensors can require gradients, this one is ${this.dtype}`, value);
    if (!value && this.gradFn !== undefined) throw invalidValue('requiresGrad', 'cannot turn it off on a non-leaf tensor (use detach())', value);
    if (value && this.gradFn !== undefined) return;
    this.#requiresGrad = value;
  }

  /** Autograd: the node that made this tensor (`grad_fn`; undefined for leaves). */
  get gradFn(): GradNode | undefined {
    return this.#gradFn;
  }

  /** Autograd: which output of its gradFn this tensor is (`output_nr`). */
  get outputNr(): number {
    return this.#outputNr;
  }

  /** @internal Makes this tensor output `outputNr` of `node` (the autograd layer records ops with it). */
  setGradFn(node: GradNode, outputNr: number): void {
    this.#gradFn = node;
    this.#outputNr = outputNr;
  }

  /**
   * Registers `fn` to see the gradient of this tensor during backward (`register_hook`); a
   * Tensor it returns replaces the gradient. On a leaf it runs before accumulation into `.grad`.
   */
  registerHook(fn: GradHook): RemovableHandle {
    const call = 'registerHook';
    this.storage(call);
    if (typeof fn !== 'function') throw invalidValue(call, 'fn must be a function', fn);
    if (!this.requiresGrad) throw invalidValue(call, "cannot register a hook on a tensor that doesn't require gradient");
    return hookRegistrar!.registerHook(this, fn);
  }

  /**
   * Registers `fn` to run on this leaf after backward accumulated into its `.grad`
   * (`register_post_accumulate_grad_hook`: where data-parallel training starts a gradient's all-reduce).
   */
  registerPostAccumulateGradHook(fn: (t: Tensor) => void): RemovableHandle {
    const call = 'registerPostAccumulateGradHook';
    this.storage(call);
    if (typeof fn !== 'function') throw invalidValue(call, 'fn must be a function', fn);
    if (!this.requiresGrad || this.gradFn !== undefined) throw invalidValue(call, 'post accumulate grad hooks can only be registered on leaf tensors that require grad');
    return hookRegistrar!.registerPostAccumulateGradHook(this, fn);
  }

  /** Keeps this non-leaf's gradient in `.grad` during backward (`retain_grad()`); a no-op on leaves. */
  retainGrad(): void {
    const call = 'retainGrad';
    this.storage(call);
    if (!this.requiresGrad) throw invalidValue(call, "can't retain_grad on a tensor that doesn't require grad");
    if (this.gradFn === undefined || this.#retainsGrad) return;
    this.#retainsGrad = true;
    hookRegistrar!.registerHook(this, (g) => {
      const kept = g.clone();
      this.#grad?.dispose();
      this.#grad = kept;
    });
  }
  #retainsGrad = false;

  /** Sets requiresGrad and returns this (`requires_grad_()`). */
  requiresGrad_(value = true): this {
    try {
      this.requiresGrad = value;
    } catch (error) {
      throw asRaisedBy('requiresGrad_', error);
    }
    return this;
  }

  get isLeaf(): boolean {
    return this.gradFn === undefined;
  }

  get disposed(): boolean {
    return this.#storage === undefined;
  }

  get ndim(): number {
    return this.shape.length;
  }

  dim(): number {
    if (!Tensor.isGenuine(this)) throw malformedTensor('dim', this);
    return this.shape.length;
  }

  numel(): number {
    if (!Tensor.isGenuine(this)) throw malformedTensor('numel', this);
    return numel(this.shape);
  }

  get itemsize(): number {
    return DTYPES[this.dtype].itemsize;
  }

  isContiguous(): boolean {
    this.storage('isContiguous');
    return isContiguous(this.shape, this.strides);
  }

  /** Address of the first element: a device pointer on openreg (views of one storage share its base), a byte offset on cpu. */
  dataPtr(): number {
    const s = this.storage('dataPtr');
    return (s.block?.ptr ?? s.byteOffset) + this.storageOffset * this.itemsize;
  }

  /** Address of the storage's first byte (`untyped_storage().data_ptr()`). */
  storageDataPtr(): number {
    const s = this.storage('storageDataPtr');
    return s.block?.ptr ?? s.byteOffset;
  }

  /** Frees the tensor's hold on its storage (the memory goes when no view uses it). Idempotent. */
  dispose(): void {
    if (!Tensor.isGenuine(this)) throw malformedTensor('dispose', this);
    const storage = this.#storage;
    if (storage === undefined) return;
    this.#storage = undefined;
    this.#link.storage = undefined;
    try {
      storage.release();
    } catch (error) {
      // The sanitizer's verdict on the free (throw mode) names the call the user made.
      throw asRaisedBy('dispose', error);
    }
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  toString(): string {
    if (!Tensor.isGenuine(this)) return 'Tensor(malformed: not made by openreg)';
    return `Tensor(shape=[${this.shape.join(', ')}], dtype=${this.dtype}, device=${this.device})`;
  }

  /**
   * PyTorch's repr for console.log and util.inspect. Values that are not there yet (work
   * still queued or running) are shown as pending after a short wait, never blocking longer.
   */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    const self: Tensor = this;
    if (!Tensor.isGenuine(self)) return 'Tensor(malformed: not made by openreg)';
    if (self.disposed) return `${self.toString()} (disposed)`;
    let values: ArrayLike<number | bigint | boolean> | undefined;
    if (!this.meta && this.numel() > 0) {
      try {
        const c = this.isContiguous() ? this : this.contiguous();
        values = c.dataSync({ timeoutMs: REPR_WAIT_MS });
      } catch {
        values = undefined;
      }
    }
    return tensorRepr({ dtype: this.dtype, shape: this.shape, values: this.meta ? undefined : values, device: this.device.toString(), requiresGrad: this.requiresGrad, gradFn: this.gradFn?.name });
  }

  // ------------------------------------------------------------ autograd
  /**
   * Backpropagates from this tensor (a scalar, or with `gradient` of its shape), accumulating
   * `.grad` on leaves. The graph's saved tensors are freed as it goes unless `retainGraph`.
   */
  backward(gradient?: Tensor, options?: { retainGraph?: boolean }): void {
    const o = requireOptions<{ retainGraph: boolean }>('backward', options, 'options', ['retainGraph']);
    const retain = o.retainGraph === undefined ? false : requireBoolean('backward', 'options.retainGraph', o.retainGraph);
    op('backward', 'openreg::backward', [this, gradient, retain]);
  }

  /** A tensor sharing storage, cut from the graph. */
  detach(): Tensor {
    const storage = this.storage('detach');
    storage.retain();
    return new Tensor(storage, this.dtype, this.shape, this.strides, this.storageOffset);
  }

  // ------------------------------------------------------------ views
  view(...shape: number[]): Tensor {
    return op('view', 'view', [this, flatShape(shape)]) as Tensor;
  }

  reshape(...shape: number[]): Tensor {
    return op('reshape', 'reshape', [this, flatShape(shape)]) as Tensor;
  }

  transpose(dim0: number, dim1: number): Tensor {
    return op('transpose', 'transpose.int', [this, dim0, dim1]) as Tensor;
  }

  /** Transpose of a 2-D tensor (`t()`); a 0-D or 1-D tensor is returned as it is. */
  /** `size()`: the shape; `size(d)`: the size of dimension d (negative counts from the end). */
  size(): number[];
  size(dim: number): number;
  size(dim?: number): number[] | number {
    if (dim === undefined) return [...this.shape];
    return this.shape[checkDim('size', dim, this.ndim)]!;
  }

  /** `.T`: the dimensions reversed (a transpose of a matrix). */
  get T(): Tensor {
    return this.ndim < 2 ? this : this.permute(...this.shape.map((_, i) => this.ndim - 1 - i));
  }

  /** `.mT`: the last two dimensions swapped (a batch of matrices, transposed). */
  get mT(): Tensor {
    if (this.ndim < 2) throw invalidValue('mT', `tensor.mT is only supported on matrices or batches of matrices, got ${this.ndim}-D`, this.toString());
    return this.transpose(-2, -1);
  }

  t(): Tensor {
    if (!Tensor.isGenuine(this)) throw malformedTensor('t', this);
    if (this.ndim > 2) throw invalidValue('t', `t() expects a tensor with <= 2 dimensions, but self is ${this.ndim}D`);
    return op('t', 'transpose.int', [this, 0, this.ndim < 2 ? 0 : 1]) as Tensor;
  }

  permute(...dims: number[]): Tensor {
    return op('permute', 'permute', [this, flatShape(dims)]) as Tensor;
  }

  /** Elements start, start+step, … before end along `dim` (`x[:, 1:3]`). */
  slice(dim: number, start?: number, end?: number, step = 1): Tensor {
    return op('slice', 'slice.Tensor', [this, dim, start, end, step]) as Tensor;
  }

  /** One index along `dim`, that dimension removed (`x[i]`). */
  select(dim: number, index: number): Tensor {
    return op('select', 'select.int', [this, dim, index]) as Tensor;
  }

  expand(...shape: number[]): Tensor {
    return op('expand', 'expand', [this, flatShape(shape)]) as Tensor;
  }

  asStrided(shape: readonly number[], strides: readonly number[], storageOffset?: number): Tensor {
    return op('asStrided', 'as_strided', [this, shape, strides, storageOffset]) as Tensor;
  }

  unsqueeze(dim: number): Tensor {
    return op('unsqueeze', 'unsqueeze', [this, dim]) as Tensor;
  }

  squeeze(dim?: number): Tensor {
    return op('squeeze', dim === undefined ? 'squeeze' : 'squeeze.dim', dim === undefined ? [this] : [this, dim]) as Tensor;
  }

  /** Dimensions startDim..endDim merged into one (`flatten(start_dim=0, end_dim=-1)`); a view when the layout allows. */
  flatten(startDim = 0, endDim = -1): Tensor {
    const call = 'flatten';
    if (!Tensor.isGenuine(this)) throw malformedTensor(call, this);
    if (this.ndim === 0) return op(call, 'reshape', [this, [1]]) as Tensor;
    const s = checkDim(call, startDim, this.ndim);
    const e = checkDim(call, endDim, this.ndim);
    if (s > e) throw invalidValue(call, 'startDim cannot come after endDim', startDim);
    const merged = this.shape.slice(s, e + 1).reduce((p, n) => p * n, 1);
    return op(call, 'reshape', [this, [...this.shape.slice(0, s), merged, ...this.shape.slice(e + 1)]]) as Tensor;
  }

  contiguous(): Tensor {
    return op('contiguous', 'contiguous', [this]) as Tensor;
  }

  /** A copy with its own storage (`clone()`). */
  clone(): Tensor {
    return op('clone', 'clone', [this]) as Tensor;
  }

  // ------------------------------------------------------------ elementwise
  // add, sub, mul, div, pow, maximum, minimum, the comparisons, the unary ops and their
  // in-place forms are installed by their definitions (src/ops/builtin/elementwise.ts).
  abs(): Tensor {
    return op('abs', 'abs', [this]) as Tensor;
  }

  // ------------------------------------------------------------ in place (the data pointer stays)
  fill_(value: number | boolean): this {
    op('fill_', 'fill_.Scalar', [this, value]);
    return this;
  }

  zero_(): this {
    op('zero_', 'fill_.Scalar', [this, 0]);
    return this;
  }

  /** Copies `src` into this tensor (broadcast, converted to this dtype; across devices, peer copies between openreg devices). */
  copy_(src: Tensor, nonBlocking = false): this {
    op('copy_', 'copy_', [this, src, nonBlocking], this.device);
    return this;
  }

  // ------------------------------------------------------------ reductions and linear algebra


  /** The largest element (no `dim`), or `[values, indices]` along `dim`. */
  max(): Tensor;
  max(dim: number, keepdim?: boolean): [Tensor, Tensor];
  max(dim?: number, keepdim = false): Tensor | [Tensor, Tensor] {
    return dim === undefined ? (op('max', 'max', [this]) as Tensor) : (op('max', 'max.dim', [this, dim, keepdim]) as [Tensor, Tensor]);
  }

  /** `[values, indices]` sorted along `dim` (the last by default), stably; NaN sorts above every number. */
  sort(dim = -1, descending = false): [Tensor, Tensor] {
    return differentiableValues(this, dim, op('sort', 'sort', [this, dim, descending]) as [Tensor, Tensor]);
  }

  /** `[values, indices]` of the k largest (or smallest) elements along `dim`, in sorted order. */
  topk(k: number, dim = -1, largest = true, sorted = true): [Tensor, Tensor] {
    return differentiableValues(this, dim, op('topk', 'topk', [this, k, dim, largest, sorted]) as [Tensor, Tensor]);
  }

  /** The smallest element (no `dim`), or `[values, indices]` along `dim`. */
  min(): Tensor;
  min(dim: number, keepdim?: boolean): [Tensor, Tensor];
  min(dim?: number, keepdim = false): Tensor | [Tensor, Tensor] {
    return dim === undefined ? (op('min', 'min', [this]) as Tensor) : (op('min', 'min.dim', [this, dim, keepdim]) as [Tensor, Tensor]);
  }







  // ------------------------------------------------------------ devices and dtypes
  /** A tensor on `device` or of `dtype` (this tensor itself when nothing changes). */
  /**
   * This tensor on `target` (a device) or as `target` (a dtype). From host memory to a device
   * the copy is done when this returns, as PyTorch's blocking copy; `nonBlocking` leaves it
   * queued on the device's stream (order later work on other streams yourself).
   */
  to(target: DeviceLike | DType | DTypeAlias, options?: { dtype?: DType | DTypeAlias; copy?: boolean; nonBlocking?: boolean }): Tensor {
    const named = dtypeNamed(target);
    const o = requireOptions<{ dtype: DType; copy: boolean; nonBlocking: boolean }>('to', options, 'options', ['dtype', 'copy', 'nonBlocking']);
    if (target === undefined || target === null) throw invalidValue('to', 'a device or a dtype is needed', target);
    const copy = o.copy === undefined ? false : requireBoolean('to', 'options.copy', o.copy);
    const nonBlocking = o.nonBlocking === undefined ? false : requireBoolean('to', 'options.nonBlocking', o.nonBlocking);
    const dtype = o.dtype === undefined ? undefined : dtypeNamed(o.dtype);
    if (o.dtype !== undefined && dtype === undefined) throw invalidValue('to', 'options.dtype must be a dtype name such as float32', o.dtype);
    return op('to', 'openreg::to', [this, named !== undefined ? undefined : target, named ?? dtype, copy, nonBlocking]) as Tensor;
  }

  /** `t.float()`, `double()`, `half()`, `bfloat16()`, `long()`, `int()`, `bool()`: `to(dtype)`, as in PyTorch. */
  float(): Tensor {
    return this.to('float32');
  }

  double(): Tensor {
    return this.to('float64');
  }

  half(): Tensor {
    return this.to('float16');
  }

  bfloat16(): Tensor {
    return this.to('bfloat16');
  }

  long(): Tensor {
    return this.to('int64');
  }

  int(): Tensor {
    return this.to('int32');
  }

  bool(): Tensor {
    return this.to('bool');
  }

  /** Copies to the host; resolves when the values are there (`options` bound the wait). */
  async cpu(options?: WaitOptions): Promise<Tensor> {
    const out = op('cpu', 'openreg::to', [this, 'cpu', undefined, false]) as Tensor;
    try {
      await reading('cpu', out, (r) => r.ready('cpu', out, options));
    } catch (error) {
      // The copy's values never arrive (or the wait gave up): the caller never sees it, so free it here.
      if (out !== this) out.dispose();
      throw error;
    }
    return out;
  }

  /** Copies to the host, blocking until the values are there (at most `options.timeoutMs`). */
  cpuSync(options?: Pick<WaitOptions, 'timeoutMs'>): Tensor {
    return reading('cpuSync', this, (r) => r.cpuSync('cpuSync', this, options));
  }

  /** Resolves when the tensor's values exist: its CPU-pool work is done (cpu), its device's current stream has reached it (openreg). */
  ready(options?: WaitOptions): Promise<void> {
    return readingAsync('ready', this, (r) => r.ready('ready', this, options));
  }

  /** The elements in row-major order, as JS typed arrays hold them (16-bit floats decoded to float32). */
  /** The values as a flat typed array (one copy; into `options.into`, a typed array of the tensor's size, when given). */
  data<T extends TensorData = TensorData>(options?: WaitOptions & { into?: T }): Promise<T>;
  data(options?: WaitOptions & { into?: TensorData }): Promise<TensorData> {
    return readingAsync('data', this, (r) => r.read('data', this, options));
  }

  dataSync<T extends TensorData = TensorData>(options?: Pick<WaitOptions, 'timeoutMs'> & { into?: T }): T;
  dataSync(options?: Pick<WaitOptions, 'timeoutMs'> & { into?: TensorData }): TensorData {
    return reading('dataSync', this, (r) => r.readSync('dataSync', this, options));
  }

  /** Nested arrays of the values (`tolist()`). */
  toArray(options?: WaitOptions): Promise<NestedArray> {
    return readingAsync('toArray', this, async (r) => {
      checkNestable('toArray', this);
      return nest(this.dtype, this.shape, await r.read('toArray', this, options));
    });
  }

  toArraySync(options?: Pick<WaitOptions, 'timeoutMs'>): NestedArray {
    return reading('toArraySync', this, (r) => {
      checkNestable('toArraySync', this);
      return nest(this.dtype, this.shape, r.readSync('toArraySync', this, options));
    });
  }

  /** The value of a one-element tensor. */
  /** The value of a one-element tensor; `item<number>()` for a numeric dtype, `item<boolean>()` for bool. */
  item<T extends number | boolean = number | boolean>(options?: WaitOptions): Promise<T>;
  item(options?: WaitOptions): Promise<number | boolean> {
    return readingAsync('item', this, async (r) => {
      checkItem('item', this);
      return nest(this.dtype, [], await r.read('item', this, options)) as number | boolean;
    });
  }

  itemSync<T extends number | boolean = number | boolean>(options?: Pick<WaitOptions, 'timeoutMs'>): T;
  itemSync(options?: Pick<WaitOptions, 'timeoutMs'>): number | boolean {
    return reading('itemSync', this, (r) => {
      checkItem('itemSync', this);
      return nest(this.dtype, [], r.readSync('itemSync', this, options)) as number | boolean;
    });
  }

  /** @internal True if the storage is a runtime's device memory (else host memory, or none for meta). */
  get onDevice(): boolean {
    return this.storage('onDevice').runtime !== undefined;
  }

  /** True for float16, bfloat16, float32 and float64 tensors (`is_floating_point()`). */
  isFloatingPoint(): boolean {
    return DTYPES[this.dtype].category === 'floating';
  }

  /** True for a cpu tensor in pinned host memory (from pinMemory()). */
  isPinned(): boolean {
    return this.storage('isPinned').pinned !== undefined;
  }

  /** A copy in pinned host memory (`pin_memory()`): copies from it to a device are truly asynchronous and skip staging. */
  pinMemory(): Tensor {
    return op('pinMemory', 'openreg::pin_memory', [this]) as Tensor;
  }

  /** Marks the storage as used by `stream`, so freeing it waits for that stream's work (`record_stream`). */
  recordStream(stream: Stream): void {
    if (!(stream instanceof Stream)) throw invalidValue('recordStream', 'stream must be a Stream', stream);
    const s = this.storage('recordStream');
    if (s.runtime === undefined) throw invalidValue('recordStream', `only tensors in device memory have streams, this one is on ${this.device}`, this.toString());
    if (s.block === undefined) return;
    try {
      s.runtime.cachingAllocator.recordStream(s.block, stream);
    } catch (error) {
      throw asRaisedBy('recordStream', error);
    }
  }
}

/**
 * sort's and topk's values, differentiable when self needs a gradient: gathered from self at
 * the indices, so backward scatters the gradient back to where each value came from (PyTorch's
 * formula for both).
 */
function differentiableValues(self: Tensor, dim: number, [values, indices]: [Tensor, Tensor]): [Tensor, Tensor] {
  if (!self.requiresGrad || !dispatchState().gradEnabled) return [values, indices];
  values.dispose();
  return [op('gather', 'gather', [self, dim, indices]) as Tensor, indices];
}

/** Most elements nested arrays may hold: V8 aborts the process (uncatchably) on arrays near 2^27 elements. */
const MAX_NESTED_ELEMENTS = 2 ** 26;

function checkNestable(call: string, t: Tensor): void {
  if (!Tensor.isGenuine(t)) throw malformedTensor(call, t);
  if (t.numel() > MAX_NESTED_ELEMENTS) throw invalidValue(call, `a tensor of ${t.numel()} elements is too large for nested arrays (at most 2^26); read it with data()`, t.toString());
}

function checkItem(call: string, t: Tensor): void {
  if (!Tensor.isGenuine(t)) throw malformedTensor(call, t);
  if (t.numel() !== 1) throw invalidValue(call, `only a one-element tensor has an item, this one has ${t.numel()} elements`, t.toString());
}

function flatShape(shape: readonly unknown[]): unknown {
  return shape.length === 1 && Array.isArray(shape[0]) ? shape[0] : shape;
}

/** @internal Tensors among an op's arguments (and inside arrays of them). */
export function tensorsIn(args: readonly unknown[]): Tensor[] {
  const out: Tensor[] = [];
  for (const a of args) {
    if (a instanceof Tensor) out.push(a);
    else if (Array.isArray(a)) for (const b of a) if (b instanceof Tensor) out.push(b);
  }
  return out;
}

/** @internal The first of tensorsIn(args), found without listing the others (the executor of an op call is its device's). */
export function firstTensorIn(args: readonly unknown[]): Tensor | undefined {
  for (const a of args) {
    if (a instanceof Tensor) return a;
    if (Array.isArray(a)) for (const b of a) if (b instanceof Tensor) return b;
  }
  return undefined;
}

function malformedTensor(call: string, value: unknown): Error {
  return invalidValue(call, 'expected a Tensor made by openreg, got an object that only looks like one (Object.create(Tensor.prototype))', value);
}

/**
 * @internal The dispatch keys of a call: the wrapper keys that apply (autocast; Autograd when grad
 * mode is on and an input requires grad), then the backend of the tensors (all on one
 * device, as PyTorch requires) or `backend` for calls without tensor inputs.
 */
export function dispatchKeys(call: string, args: readonly unknown[], backend?: TensorDevice): DispatchKey[] {
  const tensors = tensorsIn(args);
  let device = backend;
  let runtime: Runtime | undefined;
  let requiresGrad = false;
  for (const t of tensors) {
    // storage() is also the brand check: an object that only looks like a Tensor is refused there.
    const owner = t.storage(call).runtime;
    // Device memory of one runtime only: another runtime's pointers mean nothing here (every backend, fallbacks included).
    if (owner !== undefined) {
      if (owner.closed) throw runtimeClosed(call);
      if (runtime === undefined) runtime = owner;
      else if (owner !== runtime) throw invalidHandle(call, `${t} belongs to another runtime than the op's other tensors`);
    }
    if (device === undefined) device = t.device;
    else if (!device.equals(t.device) && backend === undefined) {
      throw invalidValue(call, `expected all tensors to be on the same device, but found at least two devices, ${device} and ${t.device}`, t.toString());
    }
    requiresGrad ||= t.requiresGrad;
  }
  const state = dispatchState();
  const keys: DispatchKey[] = [];
  for (const source of wrapperKeySources) {
    const key = source(tensors, state);
    if (key !== undefined && !state.excluded.has(key)) keys.push(key);
  }
  if (requiresGrad && state.gradEnabled && !state.excluded.has('Autograd')) keys.push('Autograd');
  keys.push(device?.type ?? 'cpu');
  return keys;
}

/**
 * @internal Calls the op `name` through the dispatcher, keyed by its tensor arguments. This is
 * the public boundary: errors name `call`, the method the user called, whatever layer below
 * raised them (the original is the `cause`), and a Promise-returning op rejects rather than throws.
 */
export function op(call: string, name: string, args: readonly unknown[], backend?: TensorDevice): unknown {
  let result: unknown;
  try {
    const schema = dispatcher.schema(call, name);
    const bound = binderOf(schema)(call, args);
    result = dispatcher.call(call, name, dispatchKeys(call, bound, backend), bound);
    // Every argument the op writes has a new version: a tensor saved for backward before it is stale now.
    for (const i of writtenArguments(schema)) {
      const t = bound[i];
      if (t instanceof Tensor) t.storage(call).version++;
    }
  } catch (error) {
    throw asRaisedBy(call, error);
  }
  if (result instanceof Promise) return result.catch((error: unknown) => Promise.reject(asRaisedBy(call, error)));
  return result;
}

/** `args` of a call to `name` bound to its schema: checked, defaults filled, devices resolved (what op() dispatches). */
export function bindArguments(call: string, name: string, args: readonly unknown[]): readonly unknown[] {
  return binderOf(dispatcher.schema(call, name))(call, args);
}

const isTensor = (v: unknown): boolean => v instanceof Tensor;
/** Per schema (a redefined op has a new one): its compiled binder. */
const binders = new WeakMap<OperatorSchema, Binder>();

function binderOf(schema: OperatorSchema): Binder {
  let binder = binders.get(schema);
  if (binder === undefined) binders.set(schema, (binder = compileBinder(schema, isTensor)));
  return binder;
}

/** Positions of the arguments an op writes (`Tensor(a!)` in its schema). */
const writtenBySchema = new WeakMap<OperatorSchema, readonly number[]>();

function writtenArguments(schema: OperatorSchema): readonly number[] {
  let written = writtenBySchema.get(schema);
  if (written === undefined) {
    written = schema.args.flatMap((a, i) => (a.alias?.write === true ? [i] : []));
    writtenBySchema.set(schema, written);
  }
  return written;
}

/**
 * How values leave a tensor: reads are not ops (they return values or Promises, not tensors),
 * so they do not go through the dispatcher; the ops layer sets the reader, which asks the
 * tensor's backend (its executor) for the bytes.
 */
export interface TensorReader {
  read(call: string, t: Tensor, options: unknown): Promise<TensorData>;
  readSync(call: string, t: Tensor, options: unknown): TensorData;
  ready(call: string, t: Tensor, options: unknown): Promise<void>;
  cpuSync(call: string, t: Tensor, options: unknown): Tensor;
}
let reader: TensorReader | undefined;

/** @internal The ops layer installs how tensors are read. */
export function setTensorReader(r: TensorReader): void {
  reader = r;
}

/** A read of `t` as the public call `call`: the tensor checked as an op's would be, errors naming the call. */
function reading<T>(call: string, t: Tensor, fn: (r: TensorReader) => T): T {
  try {
    dispatchKeys(call, [t]);
    return fn(reader!);
  } catch (error) {
    throw asRaisedBy(call, error);
  }
}

/** `reading` for a Promise-returning call: every failure is a rejection. */
function readingAsync<T>(call: string, t: Tensor, fn: (r: TensorReader) => Promise<T>): Promise<T> {
  let result: Promise<T>;
  try {
    result = reading(call, t, fn);
  } catch (error) {
    return Promise.reject(error);
  }
  return result.catch((error: unknown) => Promise.reject(asRaisedBy(call, error)));
}

/** A leading call name: `add:`, `openreg::data:`, `cachingAllocator.allocate:`. */
const CALL_PREFIX = /^[A-Za-z_][\w.]*(?:::[\w.]+)?: /;

/** `error` as raised by `call`: an OpenRegError naming another call (an internal one) is re-issued naming `call`. */
export function asRaisedBy(call: string, error: unknown): unknown {
  if (!(error instanceof OpenRegError) || error.message.startsWith(`${call}: `)) return error;
  const message = `${call}: ${error.message.replace(CALL_PREFIX, '')}`;
  return new OpenRegError(error.code, message, { device: error.device, cause: error });
}

/** A method called with more arguments than it takes (op methods installed by their definitions say the same). */
export function tooManyArguments(method: string, max: number, count: number): OpenRegError {
  return invalidValue(method, `takes at most ${max} argument${max === 1 ? '' : 's'}, got ${count}`);
}

/**
 * The most arguments each method takes: more is refused (`x.clone(1)`, `x.max(0, true, 1)`
 * would otherwise be ignored silently). Promise-returning methods reject instead of throwing.
 */
const METHOD_ARITY: Readonly<Record<string, number>> = {
  requiresGrad_: 1, dim: 0, numel: 0, isContiguous: 0, dataPtr: 0, storageDataPtr: 0, dispose: 0, backward: 2, detach: 0, registerHook: 1, registerPostAccumulateGradHook: 1, retainGrad: 0,
  transpose: 2, t: 0, slice: 4, select: 2, asStrided: 3, unsqueeze: 1, squeeze: 1, flatten: 2, contiguous: 0, clone: 0,
  abs: 0, fill_: 1, zero_: 0, copy_: 2,
  max: 2, min: 2, sort: 2, topk: 4, to: 2, size: 1, float: 0, double: 0, half: 0, bfloat16: 0, long: 0, int: 0, bool: 0,
  cpu: 1, cpuSync: 1, ready: 1, data: 1, dataSync: 1, toArray: 1, toArraySync: 1, item: 1, itemSync: 1, isPinned: 0, pinMemory: 0, recordStream: 1,
};
const PROMISED_METHODS = new Set(['cpu', 'ready', 'data', 'toArray', 'item']);

for (const [name, max] of Object.entries(METHOD_ARITY)) {
  const method = (Tensor.prototype as unknown as Record<string, (...args: unknown[]) => unknown>)[name]!;
  const promised = PROMISED_METHODS.has(name);
  Object.defineProperty(Tensor.prototype, name, {
    configurable: true,
    writable: true,
    value: {
      [name](this: Tensor): unknown {
        // `arguments`, not a rest parameter: the common call forwards without building an array.
        if (arguments.length > max) {
          const error = tooManyArguments(name, max, arguments.length);
          if (promised) return Promise.reject(error);
          throw error;
        }
        return method.apply(this, arguments as unknown as unknown[]);
      },
    }[name],
  });
}

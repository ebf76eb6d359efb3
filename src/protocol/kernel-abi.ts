/**
 * The typed kernel ABI: one signature per kernel, from which follow the host's encoder, the
 * executing side's decoder (device worker or CPU pool) and the byte ranges a launch reads
 * and writes (the sanitizer's accesses). Arguments cross as a block of Float64 words:
 *
 *   int, float        one word
 *   tensor            dtype code, pointer, ndim, shape[ndim], strides[ndim] (in elements)
 *                     a scalar in a tensor's place: SCALAR_OPERAND, value, 0
 *                     an omitted optional tensor:  ABSENT_OPERAND, 0, 0
 *   tensor list       count, then each tensor as above
 *
 * The block has no length limit: a short one rides inline in the command, a long one in an
 * argument block in device memory (see MAX_INLINE_ARG_WORDS). A pointer is the executing
 * side's address of the first element; it checks every tensor's whole reach against its
 * memory once, before the kernel runs, and hands the kernel the memory and byte offset
 * (what a WebAssembly kernel takes as a pointer into its memory).
 */
import type { KernelContext } from './kernel-context.js';
import { DTYPE_CODE_ITEMSIZE, MAX_TENSOR_DIMS, SCALAR_OPERAND } from './tensor-abi.js';

// What a kernel module needs besides this file (it is the `openreg/kernel` entry).
export { DTypeCode, SCALAR_OPERAND } from './tensor-abi.js';

/** The dtype code slot of an optional tensor parameter that was not given. */
export const ABSENT_OPERAND = -2;

export type Access = 'read' | 'write';

export type ParamType =
  | { readonly kind: 'int' }
  | { readonly kind: 'float' }
  | { readonly kind: 'tensor'; readonly access: Access; readonly optional: boolean; readonly scalar: boolean }
  | { readonly kind: 'tensors'; readonly access: Access };

/** The parameter types a signature is written with. */
export const Param = {
  int: { kind: 'int' },
  float: { kind: 'float' },
  /** A tensor the kernel reads. */
  input: { kind: 'tensor', access: 'read', optional: false, scalar: false },
  /** A tensor the kernel reads, or a number standing for every element. */
  inputOrScalar: { kind: 'tensor', access: 'read', optional: false, scalar: true },
  /** A tensor the kernel writes (and may read). */
  output: { kind: 'tensor', access: 'write', optional: false, scalar: false },
  optionalOutput: { kind: 'tensor', access: 'write', optional: true, scalar: false },
  /** Any number of tensors the kernel reads. */
  inputs: { kind: 'tensors', access: 'read' },
} as const satisfies Record<string, ParamType>;

export type Params = Readonly<Record<string, ParamType>>;

/** A kernel's name and its parameters, in launch order. Plain data: it crosses to workers as is. */
export interface KernelSignature<P extends Params = Params> {
  readonly name: string;
  readonly params: P;
}

export function kernelSignature<P extends Params>(name: string, params: P): KernelSignature<P> {
  for (const [key, type] of Object.entries(params)) {
    if (!isParamType(type)) throw new TypeError(`kernelSignature(${name}): parameter ${key} has no known type`);
  }
  return Object.freeze({ name, params: Object.freeze({ ...params }) });
}

/** One parameter of a signature, by position. */
export interface ParamEntry {
  readonly name: string;
  readonly type: ParamType;
}

const paramLists = new WeakMap<object, readonly ParamEntry[]>();

/** A signature's parameters in launch order, listed once per signature (encoders and decoders walk this per launch). */
export function paramList(signature: KernelSignature): readonly ParamEntry[] {
  let list = paramLists.get(signature);
  if (list === undefined) paramLists.set(signature, (list = Object.entries(signature.params).map(([name, type]) => ({ name, type }))));
  return list;
}

function isParamType(value: unknown): value is ParamType {
  return Object.values(Param).some((p) => p.kind === (value as ParamType | undefined)?.kind && JSON.stringify(p) === JSON.stringify(value));
}

/** True for plain data that is a kernel signature (as a worker reports it when loading a module). */
export function isKernelSignature(value: unknown): value is KernelSignature {
  if (value === null || typeof value !== 'object') return false;
  const { name, params } = value as { name?: unknown; params?: unknown };
  return typeof name === 'string' && params !== null && typeof params === 'object' && Object.values(params).every(isParamType);
}

// ------------------------------------------------------------------ the kernel's side

/** What a kernel receives for a tensor parameter (reused between launches: do not keep it). */
export interface TensorArg {
  /** DTypeCode; SCALAR_OPERAND for a number in a tensor's place; ABSENT_OPERAND for an omitted optional tensor. */
  dtype: number;
  /** The pointer as launched (device address, or the CPU pool's buffer-slot address). */
  ptr: number;
  /** The number, when dtype is SCALAR_OPERAND. */
  value: number;
  ndim: number;
  shape: number[];
  strides: number[];
  numel: number;
  /** Elements from the first to one past the last that the view reaches (0 when it has none). */
  reach: number;
  /** The memory holding the elements, and the byte offset of the first: checked to hold the whole reach. */
  memory: ArrayBufferLike;
  byteOffset: number;
}

type Decoded<T extends ParamType> = T extends { kind: 'int' | 'float' } ? number : T extends { kind: 'tensors' } ? readonly TensorArg[] : TensorArg;
/** A kernel's arguments, by parameter name. */
export type KernelArgs<P extends Params> = { readonly [K in keyof P]: Decoded<P[K]> };

/** Marks a module export as a typed kernel: the executing side decodes its launches with this signature. */
export const KERNEL_SIGNATURE: unique symbol = Symbol.for('openreg.kernelSignature');

export type TypedKernel<P extends Params = Params> = ((ctx: KernelContext, args: KernelArgs<P>) => void) & { readonly [KERNEL_SIGNATURE]: KernelSignature<P> };

/** A kernel with a typed signature: `export const scale = typedKernel(SCALE, (ctx, { x, factor }) => …)`. */
export function typedKernel<P extends Params>(signature: KernelSignature<P>, body: (ctx: KernelContext, args: KernelArgs<P>) => void): TypedKernel<P> {
  const kernel = (ctx: KernelContext, args: KernelArgs<P>): void => body(ctx, args);
  return Object.defineProperty(kernel, KERNEL_SIGNATURE, { value: signature, enumerable: false }) as TypedKernel<P>;
}

/** A module export's signature, if it is a typed kernel. */
export function signatureOf(fn: unknown): KernelSignature | undefined {
  return typeof fn === 'function' ? (fn as Partial<TypedKernel>)[KERNEL_SIGNATURE] : undefined;
}

/** Thrown by the decoder for a malformed argument block (the executing side reports it as a launch failure). */
export class KernelArgumentError extends Error {
  override readonly name = 'KernelArgumentError';
}

/**
 * Checks a decoded tensor's pointer and reach against the executing side's memory and sets
 * its `memory` and `byteOffset`; throws for an argument outside it.
 */
export type BindOperand = (arg: TensorArg, param: string) => void;

function newTensorArg(): TensorArg {
  return { dtype: 0, ptr: 0, value: 0, ndim: 0, shape: [], strides: [], numel: 0, reach: 0, memory: EMPTY_MEMORY, byteOffset: 0 };
}
const EMPTY_MEMORY = new ArrayBuffer(0);

/** One signature's reused decode targets, by parameter position. */
interface DecodedSlots {
  readonly params: readonly ParamEntry[];
  readonly args: Record<string, unknown>;
  /** The TensorArg (tensor parameter) or TensorArg list (tensor-list parameter) at each position. */
  readonly targets: (TensorArg | TensorArg[] | undefined)[];
}

/**
 * Decodes argument blocks into reused objects: after the first launch of a signature, a
 * decode allocates nothing (lists grow once to their longest).
 */
export class ArgumentDecoder {
  readonly #slots = new Map<KernelSignature, DecodedSlots>();

  decode<P extends Params>(signature: KernelSignature<P>, words: Float64Array, count: number, bind: BindOperand): KernelArgs<P> {
    let slots = this.#slots.get(signature);
    if (slots === undefined) {
      const params = paramList(signature);
      const targets = params.map(({ type }) => (type.kind === 'tensor' ? newTensorArg() : type.kind === 'tensors' ? [] : undefined));
      this.#slots.set(signature, (slots = { params, args: {}, targets }));
    }
    const { params, args, targets } = slots;
    let at = 0;
    for (let p = 0; p < params.length; p++) {
      const { name, type } = params[p]!;
      if (type.kind === 'int' || type.kind === 'float') {
        if (at >= count) throw blockEndsInside(count, name);
        args[name] = words[at++]!;
      } else if (type.kind === 'tensor') {
        const arg = targets[p] as TensorArg;
        at = decodeTensor(words, count, at, arg, name, type, bind);
        args[name] = arg;
      } else {
        if (at >= count) throw blockEndsInside(count, `${name}'s length`);
        const n = words[at++]!;
        if (!Number.isSafeInteger(n) || n < 0) throw new KernelArgumentError(`${name}: ${n} is not a list length`);
        // Every tensor takes at least 3 words: a corrupt length cannot make the decoder allocate past the block.
        if (n * 3 > count - at) throw new KernelArgumentError(`${name}: ${n} tensors cannot fit in the ${count - at} words left`);
        const list = targets[p] as TensorArg[];
        while (list.length < n) list.push(newTensorArg());
        list.length = n;
        for (let i = 0; i < n; i++) at = decodeTensor(words, count, at, list[i]!, `${name}[${i}]`, LISTED_TENSOR[type.access], bind);
        args[name] = list;
      }
    }
    if (at !== count) throw new KernelArgumentError(`the argument block has ${count} words, the signature of ${signature.name} reads ${at}`);
    return args as KernelArgs<P>;
  }
}

/** The parameter type of one tensor of a tensor list. */
const LISTED_TENSOR = {
  read: { kind: 'tensor', access: 'read', optional: false, scalar: false },
  write: { kind: 'tensor', access: 'write', optional: false, scalar: false },
} as const satisfies Record<Access, ParamType>;

function blockEndsInside(count: number, what: string): KernelArgumentError {
  return new KernelArgumentError(`the argument block (${count} words) ends inside ${what}`);
}

/** Sizes arg's shape and strides for `ndim` dimensions: launches of one rank reuse them as they are. */
function setRank(arg: TensorArg, ndim: number): void {
  const { shape, strides } = arg;
  if (shape.length === ndim) return;
  if (shape.length > ndim) {
    shape.length = strides.length = ndim;
    return;
  }
  // Grown by pushing, so the arrays stay packed (setting a larger length would make them holey).
  while (shape.length < ndim) {
    shape.push(0);
    strides.push(0);
  }
}

function decodeTensor(words: Float64Array, count: number, at: number, arg: TensorArg, name: string, type: Extract<ParamType, { kind: 'tensor' }>, bind: BindOperand): number {
  if (at + 3 > count) throw blockEndsInside(count, name);
  const dtype = words[at]!;
  const ptr = words[at + 1]!;
  const ndim = words[at + 2]!;
  at += 3;
  arg.dtype = dtype;
  arg.ptr = ptr;
  arg.value = 0;
  arg.ndim = 0;
  arg.numel = 0;
  arg.reach = 0;
  arg.memory = EMPTY_MEMORY;
  arg.byteOffset = 0;
  if (dtype === SCALAR_OPERAND && type.scalar) {
    setRank(arg, 0);
    arg.value = ptr;
    arg.numel = 1;
    return at;
  }
  if (dtype === ABSENT_OPERAND && type.optional) {
    setRank(arg, 0);
    return at;
  }
  if (!(dtype >= 0 && dtype < DTYPE_CODE_ITEMSIZE.length && Number.isInteger(dtype))) throw new KernelArgumentError(`${name}: ${dtype} is not a dtype code`);
  if (!(Number.isInteger(ndim) && ndim >= 0 && ndim <= MAX_TENSOR_DIMS)) throw new KernelArgumentError(`${name}: ${ndim} dimensions (at most ${MAX_TENSOR_DIMS})`);
  if (at + 2 * ndim > count) throw blockEndsInside(count, `${name}'s shape`);
  setRank(arg, ndim);
  let numel = 1;
  let last = 0;
  for (let d = 0; d < ndim; d++) {
    const size = words[at + d]!;
    const stride = words[at + ndim + d]!;
    if (!(Number.isSafeInteger(size) && size >= 0)) throw new KernelArgumentError(`${name}: size ${size} of dimension ${d}`);
    if (!(Number.isSafeInteger(stride) && stride >= 0)) throw new KernelArgumentError(`${name}: stride ${stride} of dimension ${d}`);
    arg.shape[d] = size;
    arg.strides[d] = stride;
    numel *= size;
    if (size > 0) last += (size - 1) * stride;
  }
  arg.ndim = ndim;
  arg.numel = numel;
  arg.reach = numel === 0 ? 0 : last + 1;
  bind(arg, name);
  return at + 2 * ndim;
}

// ------------------------------------------------------------------ the host's side

/** A tensor operand as the host launches it: dtype code, pointer to its first element, shape and strides. */
export interface TensorOperand {
  readonly dtype: number;
  readonly ptr: number;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
}

type Given<T extends ParamType, O> = T extends { kind: 'int' | 'float' }
  ? number
  : T extends { kind: 'tensors' }
    ? readonly O[]
    : T extends { scalar: true }
      ? O | number
      : T extends { optional: true }
        ? O | undefined
        : O;
/** A launch's arguments by parameter name, tensors given as `O` (a TensorOperand, or the executor's own tensor type). */
export type LaunchArgs<P extends Params, O = TensorOperand> = { readonly [K in keyof P]: Given<P[K], O> };

/** How the encoder sees the host's tensor type. */
export interface OperandLayout<O> {
  dtype(o: O): number;
  ptr(o: O): number;
  shape(o: O): readonly number[];
  strides(o: O): readonly number[];
}

/** A growable block of argument words (one per launching thread: reused by every launch). */
export class ArgumentWords {
  data = new Float64Array(256);
  length = 0;

  push(value: number): void {
    if (this.length === this.data.length) {
      const grown = new Float64Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = value;
  }
}

/** Writes a launch's argument block into `words` (from its start). */
export function encodeArguments<P extends Params, O>(signature: KernelSignature<P>, args: LaunchArgs<P, O>, layout: OperandLayout<O>, words: ArgumentWords): void {
  words.length = 0;
  const given = args as Record<string, unknown>;
  const params = paramList(signature);
  for (let p = 0; p < params.length; p++) {
    const { name, type } = params[p]!;
    const value = given[name];
    if (type.kind === 'int' || type.kind === 'float') words.push(value as number);
    else if (type.kind === 'tensors') {
      const list = value as readonly O[];
      words.push(list.length);
      for (let i = 0; i < list.length; i++) encodeTensor(list[i]!, layout, words);
    } else if (typeof value === 'number') {
      words.push(SCALAR_OPERAND);
      words.push(value);
      words.push(0);
    } else if (value === undefined) {
      words.push(ABSENT_OPERAND);
      words.push(0);
      words.push(0);
    } else encodeTensor(value as O, layout, words);
  }
}

function encodeTensor<O>(o: O, layout: OperandLayout<O>, words: ArgumentWords): void {
  const shape = layout.shape(o);
  const strides = layout.strides(o);
  words.push(layout.dtype(o));
  words.push(layout.ptr(o));
  words.push(shape.length);
  for (let d = 0; d < shape.length; d++) words.push(shape[d]!);
  for (let d = 0; d < strides.length; d++) words.push(strides[d]!);
}

/** Calls `visit` for every tensor a launch passes (not scalars, not omitted ones), with how the kernel uses it. */
export function forEachOperand<P extends Params, O>(signature: KernelSignature<P>, args: LaunchArgs<P, O>, visit: (operand: O, access: Access, param: string) => void): void {
  const given = args as Record<string, unknown>;
  const params = paramList(signature);
  for (let p = 0; p < params.length; p++) {
    const { name, type } = params[p]!;
    const value = given[name];
    if (type.kind === 'tensors') for (const o of value as readonly O[]) visit(o, type.access, name);
    else if (type.kind === 'tensor' && value !== undefined && typeof value !== 'number') visit(value as O, type.access, name);
  }
}

/** Row-major strides of a dense view of `shape` (size-0 and size-1 dimensions step as size 1). */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let step = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = step;
    step *= Math.max(shape[i]!, 1);
  }
  return strides;
}

/**
 * True if `strides` lay dimensions `from`…`to` of `shape` out row-major with no gaps, the
 * innermost of them stepping `inner` (size-1 dimensions may have any stride).
 */
export function isDenseOver(shape: readonly number[], strides: readonly number[], from = 0, to = shape.length, inner = 1): boolean {
  let expected = inner;
  for (let d = to - 1; d >= from; d--) {
    if (shape[d] === 1) continue;
    if (strides[d] !== expected) return false;
    expected *= shape[d]!;
  }
  return true;
}

/** Elements from the first to one past the last a view reaches. */
export function reachOf(shape: readonly number[], strides: readonly number[]): number {
  let last = 0;
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 0) return 0;
    last += (shape[d]! - 1) * strides[d]!;
  }
  return last + 1;
}

/** The byte ranges `[ptr, bytes]` a launch reads and writes: what the stream sanitizer checks. */
export function accessesOf<P extends Params, O>(signature: KernelSignature<P>, args: LaunchArgs<P, O>, layout: OperandLayout<O>): { reads: [number, number][]; writes: [number, number][] } {
  const reads: [number, number][] = [];
  const writes: [number, number][] = [];
  forEachOperand(signature, args, (o, access) => {
    const bytes = reachOf(layout.shape(o), layout.strides(o)) * DTYPE_CODE_ITEMSIZE[layout.dtype(o)]!;
    (access === 'read' ? reads : writes).push([layout.ptr(o), bytes]);
  });
  return { reads, writes };
}

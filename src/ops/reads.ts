import { invalidValue, openRegError } from '../errors/errors.js';
import { throwIfAborted } from '../device/host-waiter.js';
import { type WaitOptions, syncTimeoutOf, waitBoundsOf } from '../runtime/wait-options.js';
import { resolveDevice } from '../tensor/device.js';
import { type TensorData, decode } from '../tensor/host-data.js';
import type { DType } from '../tensor/dtype.js';
import { Tensor, setTensorReader } from '../tensor/tensor.js';
import { staged } from './builtin/copies.js';
import { type Executor, hostBytes } from './executor.js';
import { executorFor } from './host-executors.js';
import { executorOf } from './register.js';

/**
 * Reading values back to the host, for every backend alike: the tensor is made contiguous in
 * its dtype on its device, then its backend's executor hands over the bytes (a device copies
 * them out on the current stream and waits; host memory waits for its pool work).
 */

function requireData(call: string, t: Tensor): void {
  if (t.meta) throw invalidValue(call, 'a meta tensor has no data', t.toString());
}

/** A wait whose signal has aborted already ends at once, whether or not anything is pending (as fetch does). */
function checkNotAborted(call: string, options: unknown): WaitOptions | undefined {
  throwIfAborted(waitBoundsOf(call, options));
  return options as WaitOptions | undefined;
}

/** The options of a blocking read: a timeout only (the runtime's own check). */
function syncOptions(call: string, options: unknown): Pick<WaitOptions, 'timeoutMs'> {
  return { timeoutMs: syncTimeoutOf(call, options) };
}

/** A backend executor that cannot hand over bytes is refused by name, not called. */
function readerOf(call: string, t: Tensor): Executor {
  const ex = executorOf(call, [t]);
  if (typeof ex.readBytes !== 'function') throw openRegError('notImplemented', { call, op: 'reading values', device: t.device.type });
  return ex;
}

/** Runs `fn` on `t` made contiguous (a temporary copy when it is not), freeing the copy after. */
function onContiguous<T>(call: string, t: Tensor, fn: (c: Tensor) => T): T {
  const c = staged(call, t, t.dtype);
  let result: T;
  try {
    result = fn(c);
  } catch (error) {
    if (c !== t) c.dispose();
    throw error;
  }
  if (c !== t) {
    if (result instanceof Promise) void result.finally(() => c.dispose()).catch(() => undefined);
    else c.dispose();
  }
  return result;
}

/** The typed array data() returns for each dtype (halves decode to float32). */
const DATA_ARRAY: Readonly<Record<DType, new (n: number) => TensorData>> = {
  bool: Uint8Array, uint8: Uint8Array, int32: Int32Array, int64: BigInt64Array, float16: Float32Array, bfloat16: Float32Array, float32: Float32Array, float64: Float64Array,
};

/** `{ into, ...waitOptions }`: the caller's typed array (checked against t) and the wait's own options. */
function intoOf(call: string, t: Tensor, options: unknown): { into: TensorData | undefined; wait: unknown } {
  if (options === null || typeof options !== 'object' || !('into' in options)) return { into: undefined, wait: options };
  const { into, ...wait } = options as { into: unknown };
  const Kind = DATA_ARRAY[t.dtype];
  if (!(into instanceof Kind)) throw invalidValue(call, `options.into must be a ${Kind.name} for a ${t.dtype} tensor`, into);
  if (into.length !== t.numel()) throw invalidValue(call, `options.into has ${into.length} elements; the tensor has ${t.numel()}`, into);
  return { into, wait };
}

/** The bytes of `into` to read straight into, when its elements are the tensor's (not for halves, which decode). */
function intoBytes(t: Tensor, into: TensorData | undefined): Uint8Array | undefined {
  if (into === undefined || t.dtype === 'float16' || t.dtype === 'bfloat16') return undefined;
  return new Uint8Array(into.buffer, into.byteOffset, into.byteLength);
}

/** The values read: `into` itself when given (halves converted into it), else a new array over `bytes`. */
function delivered(t: Tensor, bytes: Uint8Array, into: TensorData | undefined): TensorData {
  if (into === undefined) return decode(t.dtype, bytes);
  const target = intoBytes(t, into);
  if (target === undefined) (into as Float32Array).set(decode(t.dtype, bytes) as Float32Array);
  // A backend that read into bytes of its own: they are copied over.
  else if (bytes.buffer !== target.buffer || bytes.byteOffset !== target.byteOffset) target.set(bytes);
  return into;
}

const reader = {
  read(call: string, t: Tensor, options: unknown): Promise<TensorData> {
    requireData(call, t);
    const { into, wait } = intoOf(call, t, options);
    const bounds = checkNotAborted(call, wait);
    if (t.numel() === 0) return Promise.resolve(into ?? decode(t.dtype, new Uint8Array(0)));
    return onContiguous(call, t, async (c) => delivered(t, await readerOf(call, c).readBytes(call, c, bounds, intoBytes(t, into)), into));
  },

  readSync(call: string, t: Tensor, options: unknown): TensorData {
    requireData(call, t);
    const { into, wait } = intoOf(call, t, options);
    const bound = syncOptions(call, wait);
    if (!t.onDevice && t.storage(call).busy !== undefined) throw openRegError('cpuWorkPending', { call, tensor: t.toString() });
    if (t.numel() === 0) return into ?? decode(t.dtype, new Uint8Array(0));
    return onContiguous(call, t, (c) => delivered(t, readerOf(call, c).readBytesSync(call, c, intoBytes(t, into), bound), into));
  },

  async ready(call: string, t: Tensor, options: unknown): Promise<void> {
    const bounds = checkNotAborted(call, options);
    if (t.meta) return;
    waitBoundsOf(call, options);
    await readerOf(call, t).ready(call, t, bounds);
  },

  cpuSync(call: string, t: Tensor, options: unknown): Tensor {
    const bound = syncOptions(call, options);
    if (t.device.type === 'cpu') return t;
    requireData(call, t);
    const out = executorFor(call, resolveDevice(call, 'cpu')).empty(t.dtype, t.shape);
    if (t.numel() === 0) return out;
    try {
      onContiguous(call, t, (c) => readerOf(call, c).readBytesSync(call, c, hostBytes(out, call), bound));
      return out;
    } catch (error) {
      out.dispose();
      throw error;
    }
  },
};
setTensorReader(reader);

/** Waits until `t`'s values exist, as the operation `call` (save waits for what it writes out). */
export function waitReady(call: string, t: Tensor): Promise<void> {
  return reader.ready(call, t, undefined);
}

import type { OperatorSchema } from '../dispatch/schema.js';
import { dispatcher } from '../dispatch/registry.js';
import { device } from '../tensor/device.js';
import { Tensor, tensorsIn } from '../tensor/tensor.js';
import { executorFor } from './host-executors.js';
import { executorOf } from './register.js';
import { copyInto, staged } from './builtin/copies.js';

/**
 * Runs a device op on the CPU (PyTorch's `cpu_fallback`), in the device's stream order,
 * through the backend interface: each device input is copied to host memory (the copy
 * leaves its host twin busy until the bytes are there), the op runs on the CPU pool once
 * they are, and each result (and each argument the op writes, `Tensor(a!)`) is copied back
 * to the device once the CPU work is done — the stream waits for it, as it would for a
 * kernel. The call returns at once with device tensors, as a native kernel would; a failure
 * on either side reaches every read that depends on it.
 */
export function cpuFallback(schema: OperatorSchema, args: readonly unknown[]): unknown {
  const call = schema.qualifiedName;
  const first = tensorsIn(args).find((t) => t.onDevice)!;
  const ex = executorOf(call, [first]);
  const cpu = executorFor(call, device('cpu'));
  /** Each device input's host twin. */
  const twins = new Map<Tensor, Tensor>();
  const temps: Tensor[] = [];

  const toHost = (t: Tensor): Tensor => {
    const known = twins.get(t);
    if (known !== undefined) return known;
    const c = staged(call, t, t.dtype);
    if (c !== t) temps.push(c);
    const host = cpu.empty(t.dtype, t.shape);
    executorOf(call, [c]).copyToHost(call, host, c);
    twins.set(t, host);
    return host;
  };
  const mapArg = (a: unknown): unknown => {
    if (a instanceof Tensor && a.onDevice) return toHost(a);
    if (Array.isArray(a)) return a.map(mapArg);
    return a;
  };

  try {
    const result = dispatcher.call(call, call, ['cpu'], args.map(mapArg));
    // Written arguments come back into the original device tensors; results into new ones.
    const written = new Map<Tensor, Tensor>();
    for (const [i, a] of schema.args.entries()) {
      const w = args[i];
      if (a.alias?.write === true && w instanceof Tensor && twins.has(w)) written.set(twins.get(w)!, copyInto(call, w, twins.get(w)!));
    }
    const mapResult = (r: unknown): unknown => {
      if (r instanceof Tensor) return written.get(r) ?? copyInto(call, ex.empty(r.dtype, r.shape), r);
      if (Array.isArray(r)) return r.map(mapResult);
      return r;
    };
    return mapResult(result);
  } finally {
    for (const t of temps) t.dispose();
  }
}

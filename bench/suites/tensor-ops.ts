import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import type { BenchContext } from '../context.js';
import { type Row, type SuiteOptions, compare, measure } from '../harness.js';
import { type Tensor, empty, rand, shutdownCpuPool } from '../../src/index.js';

const N = 1 << 20; // elements of each elementwise operand (4 MiB of float32)
const M = 256; // matmul: M×M by M×M
/** Rates: elements per second for add, floating-point operations per second for matmul. */
const FLOPS = 2 * M ** 3;

/**
 * Tensor ops as users run them: elementwise add and matmul on one and two openreg devices,
 * against the same ops on openreg's cpu backend (the piscina pool) and on tfjs-core's cpu
 * and tfjs-backend-wasm backends (main thread; their rows read the values back, and so do the
 * openreg rows marked `read back`); and the CPU fallback's cost per op against a native kernel.
 */
export async function tensorOps(ctx: BenchContext, options: SuiteOptions): Promise<Row[]> {
  const { rt } = ctx;
  await tf.setBackend('cpu');
  const s0 = rt.getCurrentStream(0);
  const s1 = rt.getCurrentStream(1);
  const on = (device: string, shape: number[]) => rand(shape, { device });
  const [a0, b0] = [on('openreg:0', [N]), on('openreg:0', [N])];
  const [h0, g0, h1, g1] = [on('openreg:0', [N / 2]), on('openreg:0', [N / 2]), on('openreg:1', [N / 2]), on('openreg:1', [N / 2])];
  const [ac, bc] = [on('cpu', [N]), on('cpu', [N])];
  const [ta, tb] = [tf.randomUniform([N]), tf.randomUniform([N])];
  const [tm, tn] = [tf.randomUniform([M, M]), tf.randomUniform([M, M])];
  // tfjs-backend-wasm's operands live in its own backend.
  await tf.setBackend('wasm');
  const [wa, wb, wm, wn] = [tf.randomUniform([N]), tf.randomUniform([N]), tf.randomUniform([M, M]), tf.randomUniform([M, M])];
  await tf.setBackend('cpu');
  const [m0, n0] = [on('openreg:0', [M, M]), on('openreg:0', [M, M])];
  const [top, n0b, bottom, n1] = [on('openreg:0', [M / 2, M]), on('openreg:0', [M, M]), on('openreg:1', [M / 2, M]), on('openreg:1', [M, M])];
  const [mc, nc] = [on('cpu', [M, M]), on('cpu', [M, M])];
  const small = on('openreg:0', [16]);
  // Dispatch alone: meta tensors have shapes and dtypes but no data, so an op is only its dispatch.
  const [ma, mb] = [empty([4], { device: 'meta' }), empty([4], { device: 'meta' })];
  const mg = empty([4], { device: 'meta' }).requiresGrad_();
  const DISPATCHES = 100;
  await Promise.all([ac, bc, mc, nc].map((t) => t.ready()));
  rt.deviceSynchronizeSync();

  const device = (make: () => Tensor[], streams: Parameters<typeof rt.streamSynchronizeSync>[0][]) => () => {
    const outs = make();
    for (const s of streams) rt.streamSynchronizeSync(s);
    for (const o of outs) o.dispose();
  };
  const cpu = (make: () => Tensor) => async () => {
    const out = make();
    await out.ready();
    out.dispose();
  };
  /** A tfjs op on `backend`, its values read back (tfjs computes on the main thread: read-back is its synchronization). */
  const tfjs = (backend: 'cpu' | 'wasm', make: () => tf.Tensor) => async () => {
    if (tf.getBackend() !== backend) await tf.setBackend(backend);
    const out = make();
    out.dataSync();
    out.dispose();
  };
  /** An openreg op with its values read back to the host, as the tfjs rows do. */
  const readBack = (make: () => Tensor) => async () => {
    const out = make();
    await out.data();
    out.dispose();
  };
  const rows = await measure(
    'tensor ops',
    [
      { name: 'add 1M: openreg, 1 device', subject: 'openreg', ops: N, fn: device(() => [a0.add(b0)], [s0]) },
      { name: 'add 1M: openreg, 2 devices (half each)', subject: 'openreg', ops: N, fn: device(() => [h0.add(g0), h1.add(g1)], [s0, s1]) },
      { name: 'add 1M: openreg cpu backend (piscina)', subject: 'baseline', ops: N, fn: cpu(() => ac.add(bc)) },
      { name: 'add 1M: openreg, 1 device, read back', subject: 'openreg', ops: N, fn: readBack(() => a0.add(b0)) },
      { name: 'add 1M: tfjs-core cpu backend', subject: 'baseline', ops: N, fn: tfjs('cpu', () => tf.add(ta, tb)) },
      { name: 'add 1M: tfjs-backend-wasm', subject: 'baseline', ops: N, fn: tfjs('wasm', () => tf.add(wa, wb)) },
      { name: 'matmul 256: openreg, 1 device', subject: 'openreg', ops: FLOPS, fn: device(() => [m0.matmul(n0)], [s0]) },
      { name: 'matmul 256: openreg, 2 devices (half the rows each)', subject: 'openreg', ops: FLOPS, fn: device(() => [top.matmul(n0b), bottom.matmul(n1)], [s0, s1]) },
      { name: 'matmul 256: openreg cpu backend (piscina)', subject: 'baseline', ops: FLOPS, fn: cpu(() => mc.matmul(nc)) },
      { name: 'matmul 256: openreg, 1 device, read back', subject: 'openreg', ops: FLOPS, fn: readBack(() => m0.matmul(n0)) },
      { name: 'matmul 256: tfjs-core cpu backend', subject: 'baseline', ops: FLOPS, fn: tfjs('cpu', () => tf.matMul(tm, tn)) },
      { name: 'matmul 256: tfjs-backend-wasm', subject: 'baseline', ops: FLOPS, fn: tfjs('wasm', () => tf.matMul(wm, wn)) },
      {
        name: 'small op, native kernel (exp) + await',
        subject: 'openreg',
        fn: async () => {
          const y = small.exp();
          await y.ready();
          y.dispose();
        },
      },
      {
        name: 'dispatch: tiny add on meta (per op)',
        subject: 'openreg',
        ops: DISPATCHES,
        fn: () => {
          for (let i = 0; i < DISPATCHES; i++) ma.add(mb).dispose();
        },
      },
      {
        name: 'dispatch: tiny add on meta, recorded by autograd (per op)',
        subject: 'openreg',
        ops: DISPATCHES,
        fn: () => {
          for (let i = 0; i < DISPATCHES; i++) mg.add(mb).dispose();
        },
      },
      {
        name: 'small op, CPU fallback (tanh) + await',
        subject: 'openreg',
        fn: async () => {
          const y = small.tanh();
          await y.ready();
          y.dispose();
        },
      },
    ],
    options,
  );
  for (const [name, vs] of [
    ['add 1M: openreg, 1 device', 'add 1M: tfjs-core cpu backend'],
    ['add 1M: openreg, 2 devices (half each)', 'add 1M: openreg, 1 device'],
    ['add 1M: openreg cpu backend (piscina)', 'add 1M: openreg, 1 device'],
    ['matmul 256: openreg, 1 device', 'matmul 256: tfjs-core cpu backend'],
    ['matmul 256: openreg, 2 devices (half the rows each)', 'matmul 256: openreg, 1 device'],
    ['matmul 256: openreg cpu backend (piscina)', 'matmul 256: openreg, 1 device'],
    // With read-back, as the tfjs rows are timed: against the faster tfjs peer, wasm.
    ['add 1M: openreg, 1 device, read back', 'add 1M: tfjs-backend-wasm'],
    ['add 1M: tfjs-core cpu backend', 'add 1M: tfjs-backend-wasm'],
    ['matmul 256: openreg, 1 device, read back', 'matmul 256: tfjs-backend-wasm'],
    ['matmul 256: tfjs-core cpu backend', 'matmul 256: tfjs-backend-wasm'],
  ] as const) {
    compare(rows, name, vs, 'latency');
  }
  // The fallback's cost per op, as a multiple of a native kernel's.
  const native = rows.find((r) => r.name.startsWith('small op, native'))!;
  const fallback = rows.find((r) => r.name.startsWith('small op, CPU fallback'))!;
  fallback.ratio = { vs: native.name, value: fallback.p50Us / native.p50Us, meaning: `× the time of a native kernel (+${(fallback.p50Us - native.p50Us).toFixed(0)} µs per op)` };
  for (const t of [a0, b0, h0, g0, h1, g1, ac, bc, m0, n0, top, n0b, bottom, n1, mc, nc, small, ma, mb, mg]) t.dispose();
  tf.dispose([ta, tb, tm, tn, wa, wb, wm, wn]);
  await tf.setBackend('cpu');
  await shutdownCpuPool();
  return rows;
}

import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import '../../src/tfjs.js';
import type { BenchContext } from '../context.js';
import { type Row, type SuiteOptions, type TaskSpec, compare, measure } from '../harness.js';
import { type Tensor, empty, noGrad, rand, shutdownCpuPool } from '../../src/index.js';
import { tfjsWorkloads } from './tfjs-workloads.js';
import type { Backend, Workload } from './workload.js';

const ADD_N = 1 << 20; // add: 1M float32 (4 MiB) per operand
const SUM_N = 1 << 22; // sum: 4M float32
const SOFTMAX = 1024; // softmax over the rows of 1024×1024
const TINY_ADDS = 10_000; // per-op overhead: a chain of adds of 16 elements
const MLP = { batch: 256, inputs: 784, hidden: 256, classes: 10, lr: 0.05 };

/**
 * Tensor ops as users run them, every row timed the same way: the op (or training step) and
 * the read-back of its result to the host, on openreg with 1 and 2 devices, openreg's cpu
 * backend (the piscina pool), tfjs-core's cpu backend and tfjs-backend-wasm (both on the main
 * thread; tfjs-backend-wasm is XNNPACK with SIMD, single-threaded in Node). Ratios are against
 * tfjs-backend-wasm, the fastest peer; 'tfjs on openreg' is tfjs with openreg as its backend
 * (openreg/tfjs, one device). Two devices split the work: halves of the operands, of
 * matmul's and softmax's rows, and of the MLP's batch (data parallel: each device pulls the
 * other's gradients and updates its replica with their mean).
 */
export async function tensorOps(ctx: BenchContext, options: SuiteOptions): Promise<Row[]> {
  const { rt } = ctx;
  const disposers: (() => void)[] = [];
  const on = (device: string, shape: number[]) => {
    const t = rand(shape, { device });
    disposers.push(() => t.dispose());
    return t;
  };
  const onTf = async (backend: Backend, shape: number[]) => {
    await tf.setBackend(backend);
    const t = tf.randomUniform(shape);
    disposers.push(() => t.dispose());
    return t;
  };
  /** openreg: make the outputs, read every one back. */
  const readBack = (make: () => Tensor[]) => async () => {
    const outs = make();
    await Promise.all(outs.map((o) => o.data()));
    for (const o of outs) o.dispose();
  };
  /** tfjs on `backend`: make the output, read it back (tfjs computes on the main thread: read-back is its synchronization). */
  const tfjs = (backend: Backend, make: () => tf.Tensor) => async () => {
    if (tf.getBackend() !== backend) await tf.setBackend(backend);
    const out = tf.tidy(make);
    out.dataSync();
    out.dispose();
  };
  const tfBoth = async (shapes: number[][], op: (...ts: tf.Tensor[]) => tf.Tensor) => {
    // One at a time: concurrent setBackend calls race while the wasm backend initializes.
    const cpu: tf.Tensor[] = [];
    for (const s of shapes) cpu.push(await onTf('cpu', s));
    const wasm: tf.Tensor[] = [];
    for (const s of shapes) wasm.push(await onTf('wasm', s));
    const device: tf.Tensor[] = [];
    for (const s of shapes) device.push(await onTf('openreg', s));
    return { 'tfjs-backend-cpu': tfjs('cpu', () => op(...cpu)), 'tfjs-backend-wasm': tfjs('wasm', () => op(...wasm)), 'tfjs on openreg': tfjs('openreg', () => op(...device)) };
  };

  const workloads: Workload[] = [];

  {
    const [a, b] = [on('openreg:0', [ADD_N]), on('openreg:0', [ADD_N])];
    const [h0, g0, h1, g1] = [on('openreg:0', [ADD_N / 2]), on('openreg:0', [ADD_N / 2]), on('openreg:1', [ADD_N / 2]), on('openreg:1', [ADD_N / 2])];
    const [ac, bc] = [on('cpu', [ADD_N]), on('cpu', [ADD_N])];
    workloads.push({
      name: 'add 1M',
      ops: ADD_N,
      rows: {
        'openreg, 1 device': readBack(() => [a.add(b)]),
        'openreg, 2 devices': readBack(() => [h0.add(g0), h1.add(g1)]),
        'openreg cpu backend': readBack(() => [ac.add(bc)]),
        ...(await tfBoth([[ADD_N], [ADD_N]], (x, y) => tf.add(x!, y!))),
      },
    });
  }
  for (const n of [256, 512, 1024]) {
    const [a, b] = [on('openreg:0', [n, n]), on('openreg:0', [n, n])];
    const [top, b0, bottom, b1] = [on('openreg:0', [n / 2, n]), on('openreg:0', [n, n]), on('openreg:1', [n / 2, n]), on('openreg:1', [n, n])];
    const [ac, bc] = [on('cpu', [n, n]), on('cpu', [n, n])];
    const peers = await tfBoth([[n, n], [n, n]], (x, y) => tf.matMul(x!, y!));
    workloads.push({
      name: `matmul ${n}`,
      ops: 2 * n ** 3,
      rows: {
        'openreg, 1 device': readBack(() => [a.matmul(b)]),
        'openreg, 2 devices': readBack(() => [top.matmul(b0), bottom.matmul(b1)]),
        'openreg cpu backend': readBack(() => [ac.matmul(bc)]),
        // tfjs-backend-cpu takes seconds per 1024² product: 16 samples of it would dominate the run.
        ...(n < 1024 ? peers : { 'tfjs-backend-wasm': peers['tfjs-backend-wasm'], 'tfjs on openreg': peers['tfjs on openreg'] }),
      },
    });
  }
  {
    const x = on('openreg:0', [SOFTMAX, SOFTMAX]);
    const [x0, x1] = [on('openreg:0', [SOFTMAX / 2, SOFTMAX]), on('openreg:1', [SOFTMAX / 2, SOFTMAX])];
    const xc = on('cpu', [SOFTMAX, SOFTMAX]);
    workloads.push({
      name: 'softmax 1024×1024 (rows)',
      ops: SOFTMAX * SOFTMAX,
      rows: {
        'openreg, 1 device': readBack(() => [x.softmax(1)]),
        'openreg, 2 devices': readBack(() => [x0.softmax(1), x1.softmax(1)]),
        'openreg cpu backend': readBack(() => [xc.softmax(1)]),
        ...(await tfBoth([[SOFTMAX, SOFTMAX]], (t) => tf.softmax(t!))),
      },
    });
  }
  {
    const x = on('openreg:0', [SUM_N]);
    const [x0, x1] = [on('openreg:0', [SUM_N / 2]), on('openreg:1', [SUM_N / 2])];
    const xc = on('cpu', [SUM_N]);
    workloads.push({
      name: 'sum 4M',
      ops: SUM_N,
      rows: {
        'openreg, 1 device': readBack(() => [x.sum()]),
        'openreg, 2 devices': readBack(() => [x0.sum(), x1.sum()]),
        'openreg cpu backend': readBack(() => [xc.sum()]),
        ...(await tfBoth([[SUM_N]], (t) => tf.sum(t!))),
      },
    });
  }
  workloads.push(await mlpWorkload(on, onTf));
  workloads.push(...(await tfjsWorkloads(on, onTf, tfjs)));
  {
    const [t, u] = [on('openreg:0', [16]), on('openreg:0', [16])];
    const chain = (make: () => tf.Tensor, add: (x: tf.Tensor) => tf.Tensor, backend: Backend) => async () => {
      if (tf.getBackend() !== backend) await tf.setBackend(backend);
      let y = make();
      for (let i = 0; i < TINY_ADDS; i++) {
        const next = add(y);
        y.dispose();
        y = next;
      }
      y.dataSync();
      y.dispose();
    };
    const [tc, uc] = [await onTf('cpu', [16]), await onTf('cpu', [16])];
    const [tw, uw] = [await onTf('wasm', [16]), await onTf('wasm', [16])];
    workloads.push({
      name: `${TINY_ADDS.toLocaleString('en-US')} tiny adds (per-op overhead)`,
      ops: TINY_ADDS,
      rows: {
        'openreg, 1 device': async () => {
          let y = t.add(u);
          for (let i = 1; i < TINY_ADDS; i++) {
            const next = y.add(u);
            y.dispose();
            y = next;
          }
          await y.data();
          y.dispose();
        },
        'tfjs-backend-cpu': chain(() => tf.add(tc, uc), (x) => tf.add(x, uc), 'cpu'),
        'tfjs-backend-wasm': chain(() => tf.add(tw, uw), (x) => tf.add(x, uw), 'wasm'),
      },
    });
  }

  const tasks: TaskSpec[] = workloads.flatMap((w) =>
    Object.entries(w.rows).map(([subject, fn]) => ({
      name: `${w.name}: ${subject}`,
      subject: subject.startsWith('openreg') ? ('openreg' as const) : ('baseline' as const),
      ops: w.ops,
      fn,
    })),
  );
  // The fallback's cost per op, as a multiple of a native kernel's (hypot is bound to the CPU fallback on openreg).
  const small = on('openreg:0', [16]);
  const [ma, mb] = [empty([4], { device: 'meta' }), empty([4], { device: 'meta' })];
  const mg = empty([4], { device: 'meta' }).requiresGrad_();
  disposers.push(() => [ma, mb, mg].forEach((m) => m.dispose()));
  const DISPATCHES = 100;
  tasks.push(
    { name: 'small op, native kernel (exp) + await', subject: 'openreg', fn: readBack(() => [small.exp()]) },
    { name: 'small op, CPU fallback (hypot) + await', subject: 'openreg', fn: readBack(() => [small.hypot(small)]) },
    { name: 'dispatch: tiny add on meta (per op)', subject: 'openreg', ops: DISPATCHES, fn: () => { for (let i = 0; i < DISPATCHES; i++) ma.add(mb).dispose(); } },
    { name: 'dispatch: tiny add on meta, recorded by autograd (per op)', subject: 'openreg', ops: DISPATCHES, fn: () => { for (let i = 0; i < DISPATCHES; i++) mg.add(mb).dispose(); } },
  );
  await rt.deviceSynchronize();
  const rows = await measure('tensor ops', tasks, options);
  for (const w of workloads) {
    // Against tfjs-backend-wasm, or tfjs-backend-cpu where wasm cannot run the workload (it has no conv2d gradients).
    const against = 'tfjs-backend-wasm' in w.rows ? 'tfjs-backend-wasm' : 'tfjs-backend-cpu';
    for (const subject of Object.keys(w.rows)) if (subject !== against) compare(rows, `${w.name}: ${subject}`, `${w.name}: ${against}`, 'latency');
  }
  const native = rows.find((r) => r.name.startsWith('small op, native'))!;
  const fallback = rows.find((r) => r.name.startsWith('small op, CPU fallback'))!;
  fallback.ratio = { vs: native.name, value: fallback.p50Us / native.p50Us, meaning: `× the time of a native kernel (+${(fallback.p50Us - native.p50Us).toFixed(0)} µs per op)` };
  for (const d of disposers) d();
  await tf.setBackend('cpu');
  await shutdownCpuPool();
  return rows;
}

/**
 * One SGD step of a 784→256→10 MLP (ReLU, log-softmax cross-entropy on one-hot targets,
 * batch 256): forward, backward, update, and the loss read back.
 */
async function mlpWorkload(on: (device: string, shape: number[]) => Tensor, onTf: (backend: Backend, shape: number[]) => Promise<tf.Tensor>): Promise<Workload> {
  const { batch, inputs, hidden, classes, lr } = MLP;
  const params = (device: string) => [on(device, [inputs, hidden]), on(device, [hidden]), on(device, [hidden, classes]), on(device, [classes])].map((p) => p.mul(0.05).requiresGrad_());
  // Soft targets (each row a distribution): cross-entropy against them needs no gather.
  const targets = (device: string, rows: number) => on(device, [rows, classes]).softmax(1);
  const loss = (p: Tensor[], x: Tensor, y: Tensor) => x.mm(p[0]!).add(p[1]!).relu().mm(p[2]!).add(p[3]!).logSoftmax(1).mul(y).sum().div(-x.shape[0]!);
  const update = (p: Tensor[]) =>
    noGrad(() => {
      for (const w of p) {
        w.sub_(w.grad!, lr);
        w.grad!.dispose();
        w.grad = undefined;
      }
    });
  const one = { p: params('openreg:0'), x: on('openreg:0', [batch, inputs]), y: targets('openreg:0', batch) };
  const half = batch / 2;
  // Two replicas of the same parameters, one per device, each with half the batch.
  const replica0 = params('openreg:0');
  const replica1 = replica0.map((w) => w.detach().to('openreg:1').requiresGrad_());
  const two = [replica0, replica1].map((p, d) => ({ p, x: on(`openreg:${d}`, [half, inputs]), y: targets(`openreg:${d}`, half) }));
  const cpu = { p: params('cpu'), x: on('cpu', [batch, inputs]), y: targets('cpu', batch) };
  const step = (m: { p: Tensor[]; x: Tensor; y: Tensor }) => async () => {
    const l = loss(m.p, m.x, m.y);
    l.backward();
    update(m.p);
    await l.data();
    l.dispose();
  };
  // Data parallel: each device pulls the other's gradients and updates its own replica with
  // their mean (g0 + g1 on one, g1 + g0 on the other: the same float sum, so the replicas stay
  // equal). Measured faster here than averaging on device 0 and copying every weight back,
  // which leaves device 1 waiting on device 0's updates.
  const dataParallel = async () => {
    const losses = two.map((m) => loss(m.p, m.x, m.y));
    for (const l of losses) l.backward();
    noGrad(() => {
      const replicas = [two[0]!.p, two[1]!.p];
      const pulled = replicas.map((_, d) => replicas[1 - d]!.map((w) => w.grad!.to(`openreg:${d}`)));
      replicas.forEach((p, d) =>
        p.forEach((w, i) => {
          const sum = w.grad!.add(pulled[d]![i]!);
          w.sub_(sum, lr / 2);
          sum.dispose();
          pulled[d]![i]!.dispose();
        }),
      );
      for (const p of replicas) {
        for (const w of p) {
          w.grad!.dispose();
          w.grad = undefined;
        }
      }
    });
    await Promise.all(losses.map((l) => l.data()));
    for (const l of losses) l.dispose();
  };
  // tfjs-core's npm bundles register no gradients (the tfjs union package does), so its step has
  // the backward written out: the same products, reductions and updates autograd runs on openreg.
  const tfStep = async (backend: Backend) => {
    const shapes = [[inputs, hidden], [hidden], [hidden, classes], [classes]];
    const p: tf.Variable[] = [];
    for (const s of shapes) p.push(tf.variable(tf.mul(await onTf(backend, s), 0.05)));
    const [w1, b1, w2, b2] = p as [tf.Variable, tf.Variable, tf.Variable, tf.Variable];
    const x = await onTf(backend, [batch, inputs]);
    const y = tf.softmax(await onTf(backend, [batch, classes]));
    return async () => {
      if (tf.getBackend() !== backend) await tf.setBackend(backend);
      const l = tf.tidy(() => {
        const z1 = tf.add(tf.matMul(x, w1), b1);
        const h = tf.relu(z1);
        const logits = tf.add(tf.matMul(h, w2), b2);
        const logp = tf.logSoftmax(logits);
        const loss = tf.div(tf.sum(tf.mul(logp, y)), -batch);
        const dLogits = tf.div(tf.sub(tf.exp(logp), y), batch); // y's rows sum to 1
        const dz1 = tf.mul(tf.matMul(dLogits, w2, false, true), tf.step(z1));
        const grads = [tf.matMul(x, dz1, true, false), tf.sum(dz1, 0), tf.matMul(h, dLogits, true, false), tf.sum(dLogits, 0)];
        p.forEach((v, i) => v.assign(tf.sub(v, tf.mul(grads[i]!, lr))));
        return loss;
      });
      l.dataSync();
      l.dispose();
    };
  };
  return {
    name: `MLP step ${inputs}→${hidden}→${classes}, batch ${batch}`,
    ops: batch,
    rows: {
      'openreg, 1 device': step(one),
      'openreg, 2 devices': dataParallel,
      'openreg cpu backend': step(cpu),
      'tfjs-backend-cpu': await tfStep('cpu'),
      'tfjs-backend-wasm': await tfStep('wasm'),
      'tfjs on openreg': await tfStep('openreg'),
    },
  };
}

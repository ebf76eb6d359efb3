import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, type Runtime, openreg } from '../dist/src/index.js';
import { kernelCoverage } from '../dist/src/tfjs.js';
import { expectCode, expectRejectCode, useTensorRuntime } from './helpers.js';

// openreg as a TensorFlow.js backend (openreg/tfjs): tfjs-core's own conformance suite runs in
// `npm test` (test/tfjs/run-conformance.mjs); here, what a tfjs program on openreg can count on.
let rt: Runtime;
useTensorRuntime({ deviceCount: 2 }, (r) => (rt = r));

afterEach(async () => {
  await tf.setBackend('cpu');
});

/** A conv2d + dense classifier (or, `denseOnly`, a dense one) trained by model.fit for three epochs from seeded weights: its losses and final weights. */
async function fit(backend: string, denseOnly = false): Promise<{ losses: number[]; weights: Float32Array[] }> {
  await tf.setBackend(backend);
  const model = tf.sequential();
  if (denseOnly) model.add(tf.layers.flatten({ inputShape: [6, 6, 1] }));
  else {
    model.add(tf.layers.conv2d({ inputShape: [6, 6, 1], filters: 3, kernelSize: 3, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }));
    model.add(tf.layers.flatten());
  }
  model.add(tf.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }));
  model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
  const x = tf.tensor4d(Array.from({ length: 8 * 36 }, (_, i) => Math.sin(i)), [8, 6, 6, 1]);
  const y = tf.tidy(() => tf.oneHot(tf.tensor1d([0, 1, 0, 1, 1, 0, 1, 0], 'int32'), 2));
  const history = await model.fit(x, y, { epochs: 3, batchSize: 4, shuffle: false, verbose: 0 });
  const weights = await Promise.all(model.getWeights().map(async (w) => (await w.data()) as Float32Array));
  tf.dispose([x, y]);
  model.optimizer.dispose();
  model.dispose();
  return { losses: history.history.loss as number[], weights };
}

describe('openreg as a TensorFlow.js backend', () => {
  // First in this file: the conv model's forward leaves intermediates to the garbage collector, which would move the count.
  it('gives the device memory of every tensor tfjs disposes back to the caching allocator at once', async () => {
    await fit('openreg', true);
    // A second run: caches (tfjs-layers keeps a few scalars) are warm, so anything left now would be a leak.
    const [before, tensorsBefore] = [openreg.memoryAllocated(0), tf.memory().numTensors];
    await fit('openreg', true);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    expect(openreg.memoryAllocated(0)).toBe(before);
  });

  it('trains a tf.sequential (conv2d + dense) with model.fit as the cpu backend does', async () => {
    const cpu = await fit('cpu');
    const device = await fit('openreg');
    expect(device.losses.length).toBe(3);
    device.losses.forEach((l, i) => expect(Math.abs(l - cpu.losses[i]!)).toBeLessThan(1e-5));
    device.weights.forEach((w, i) => w.forEach((v, j) => expect(Math.abs(v - cpu.weights[i]![j]!)).toBeLessThan(1e-5)));
    expect(cpu.losses[2]!).toBeLessThan(cpu.losses[0]!);
  });

  it('reports which kernels run natively and which take the CPU fallback', () => {
    const { native, fallback } = kernelCoverage();
    expect(native).toEqual(expect.arrayContaining(['Add', 'BatchMatMul', '_FusedMatMul', 'Softmax', 'Sum', 'Reshape']));
    expect(native).toEqual(expect.arrayContaining(['Conv2D', 'Conv2DBackpropFilter', 'MaxPool', 'MaxPoolGrad']));
    expect(fallback).toEqual(expect.arrayContaining(['DepthwiseConv2dNative', 'Pow']));
    expect(native.filter((k) => fallback.includes(k))).toEqual([]);
    // docs/tfjs.md lists the native kernels as the registry has them.
    const doc = readFileSync(new URL('../docs/tfjs.md', import.meta.url), 'utf8');
    const listed = doc.split('<!-- tfjs-native-kernels -->')[1]!.split('<!-- /tfjs-native-kernels -->')[0]!;
    expect(listed.split(',').map((k) => k.trim())).toEqual(native);
  });

  it('refuses a backend pinned to a device that does not exist, naming the call and the value', async () => {
    const { OpenRegBackend } = await import('../dist/src/tfjs.js');
    for (const bad of [2, -1, 0.5, '1']) {
      const error = expectCode(() => new OpenRegBackend(bad as number), ErrorCode.INVALID_VALUE);
      expect(error.message).toMatch(/^OpenRegBackend: device must be an integer/);
    }
  });

  it("shows tfjs work to the profiler as device kernels on the backend's device", async () => {
    await tf.setBackend('openreg:1');
    const a = tf.tensor2d([[1, 2], [3, 4]]);
    rt.profiler.start();
    const c = tf.matMul(a, a).add(1);
    const values = await c.data();
    const records = rt.profiler.stop();
    expect(Array.from(values)).toEqual([8, 11, 16, 23]);
    const kernels = records.filter((r) => r.thread === 'device' && r.kind === 'kernel');
    expect(kernels.length).toBeGreaterThanOrEqual(2);
    expect(kernels.every((r) => r.device === 1)).toBe(true);
    tf.dispose([a, c]);
  });

  it('lets the stream sanitizer catch a tfjs read on another stream that did not wait for the write', async () => {
    await tf.setBackend('openreg');
    rt.sanitizer.enable();
    try {
      const a = tf.tensor1d([1, 2, 3]);
      const b = tf.add(a, a); // written by a kernel on the current stream
      const side = rt.streamCreate({ nonBlocking: true });
      const race = rt.withStream(side, () => {
        try {
          tf.mul(b, 2);
          return undefined;
        } catch (error) {
          return error as { code?: string };
        }
      });
      expect(race?.code).toBe(ErrorCode.DATA_RACE);
      rt.streamWaitStream(side, rt.getCurrentStream());
      // Ordered now; the result is read on the stream that computed it.
      expect(Array.from(await rt.withStream(side, () => tf.mul(b, 2).data()))).toEqual([4, 8, 12]);
    } finally {
      rt.sanitizer.disable();
    }
  });

  it("rejects the reads of tfjs work on a device whose kernel failed, and the other device's tfjs work goes on", async () => {
    await tf.setBackend('openreg:1');
    const a = tf.tensor1d([1, 2, 3]);
    rt.faults.inject({ device: 1, at: 'kernel', error: 'ERR_LAUNCH_FAILURE' });
    const c = tf.add(a, a);
    await expectRejectCode(c.data(), ErrorCode.LAUNCH_FAILURE);
    await tf.setBackend('openreg:0');
    expect(Array.from(await tf.add(tf.tensor1d([1, 2]), 1).data())).toEqual([2, 3]);
    await rt.deviceReset(1);
  });
});

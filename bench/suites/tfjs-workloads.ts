import * as tf from '@tensorflow/tfjs';
import { type Tensor, nn } from '../../src/index.js';
import type { Backend, Workload } from './workload.js';

const CONV = { batch: 16, size: 32, inChannels: 8, outChannels: 16, kernel: 3 };
const FIT = { batch: 32, size: 12, classes: 4 };

/**
 * The rows of issue 20: tfjs programs on openreg (openreg/tfjs, one device) against the same
 * programs on tfjs-backend-cpu and tfjs-backend-wasm — a conv2d (openreg's own NCHW conv2d
 * beside them), and a training step of a tf.sequential (conv2d → relu → flatten → dense) by
 * trainOnBatch, which tfjs-backend-wasm cannot run. Every row reads its result back.
 */
export async function tfjsWorkloads(
  on: (device: string, shape: number[]) => Tensor,
  onTf: (backend: Backend, shape: number[]) => Promise<tf.Tensor>,
  tfjs: (backend: Backend, make: () => tf.Tensor) => () => Promise<void>,
): Promise<Workload[]> {
  const { batch, size, inChannels, outChannels, kernel } = CONV;
  const backends: Backend[] = ['cpu', 'wasm', 'openreg'];
  const conv: Partial<Record<Backend, () => Promise<void>>> = {};
  for (const b of backends) {
    const x = await onTf(b, [batch, size, size, inChannels]);
    const w = await onTf(b, [kernel, kernel, inChannels, outChannels]);
    conv[b] = tfjs(b, () => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'));
  }
  const x = on('openreg:0', [batch, inChannels, size, size]);
  const w = on('openreg:0', [outChannels, inChannels, kernel, kernel]);
  const convolution: Workload = {
    name: `conv2d ${batch}×${size}×${size}×${inChannels} → ${outChannels}, 3×3 'same'`,
    ops: 2 * batch * size * size * outChannels * inChannels * kernel * kernel,
    rows: {
      'openreg, 1 device': async () => {
        const y = nn.functional.conv2d(x, w, undefined, { padding: 1 });
        await y.data();
        y.dispose();
      },
      'tfjs-backend-cpu': conv.cpu!,
      'tfjs-backend-wasm': conv.wasm!,
      'tfjs on openreg': conv.openreg!,
    },
  };
  // tfjs-backend-wasm has no Conv2DBackpropFilter: the training step runs on the other two.
  const fit: Partial<Record<Backend, () => Promise<void>>> = {};
  for (const b of ['cpu', 'openreg'] as const) fit[b] = await trainingStep(b, onTf);
  return [
    convolution,
    {
      name: `tfjs model training step (conv2d → dense), batch ${FIT.batch}`,
      ops: FIT.batch,
      rows: { 'tfjs-backend-cpu': fit.cpu!, 'tfjs on openreg': fit.openreg! },
    },
  ];
}

/** One trainOnBatch of a small tf.sequential on `backend` (its loss read back). */
async function trainingStep(backend: Backend, onTf: (backend: Backend, shape: number[]) => Promise<tf.Tensor>): Promise<() => Promise<void>> {
  const { batch, size, classes } = FIT;
  const x = await onTf(backend, [batch, size, size, 1]);
  const y = tf.oneHot(tf.tidy(() => tf.cast(tf.mul(tf.randomUniform([batch]), classes), 'int32')), classes);
  const model = tf.sequential();
  model.add(tf.layers.conv2d({ inputShape: [size, size, 1], filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' }));
  model.add(tf.layers.flatten());
  model.add(tf.layers.dense({ units: classes, activation: 'softmax' }));
  model.compile({ optimizer: tf.train.sgd(0.05), loss: 'categoricalCrossentropy' });
  return async () => {
    if (tf.getBackend() !== backend) await tf.setBackend(backend);
    await model.trainOnBatch(x, y);
  };
}

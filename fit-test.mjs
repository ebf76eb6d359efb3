import * as tf from '@tensorflow/tfjs';
import '/work/main/dist/src/tfjs.js';
async function train(backend) {
  await tf.setBackend(backend);
  const model = tf.sequential();
  model.add(tf.layers.conv2d({ inputShape: [6, 6, 1], filters: 3, kernelSize: 3, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }));
  model.add(tf.layers.flatten());
  model.add(tf.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }));
  model.compile({ optimizer: tf.train.sgd(0.1), loss: 'categoricalCrossentropy' });
  const x = tf.tensor4d(Array.from({ length: 8 * 36 }, (_, i) => Math.sin(i)), [8, 6, 6, 1]);
  const y = tf.oneHot(tf.tensor1d([0, 1, 0, 1, 1, 0, 1, 0], 'int32'), 2);
  const h = await model.fit(x, y, { epochs: 3, batchSize: 4, shuffle: false, verbose: 0 });
  return { loss: h.history.loss, w: await Promise.all(model.getWeights().map((w) => w.data())) };
}
const t0 = performance.now(); const a = await train('cpu'); const t1 = performance.now(); const b = await train('openreg'); const t2 = performance.now();
console.log(a.loss, b.loss, (t1 - t0).toFixed(0), (t2 - t1).toFixed(0));
let m = 0; a.w.forEach((w, i) => w.forEach((v, j) => (m = Math.max(m, Math.abs(v - b.w[i][j]))))); console.log('max weight diff', m);

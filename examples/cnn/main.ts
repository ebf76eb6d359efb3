/**
 * A small CNN (conv → relu → pool → linear) trained on a synthetic dataset this demo makes:
 * first on one device, then with DistributedDataParallel on two (each device half of every
 * batch). Both runs start from the same weights and see the same global batches, so their
 * losses agree; the demo prints both, the step times, and how far the replicas drifted.
 */
import { type Tensor, manualSeed, nn, optim, openreg } from 'openreg';
import { BATCH, Cnn, dataset } from './model.js';

const STEPS = 30;

// The generators draw the weights and the noise: every run is the same.
manualSeed(0);
const data = dataset(STEPS);
const initial = new Cnn().stateDict();

// One device, the whole batch.
const single = new Cnn().to('openreg:0');
single.loadStateDict(initial);
const opt = new optim.SGD(single.parameters(), { lr: 0.01, momentum: 0.9 });
const singleLosses: number[] = [];
let started = performance.now();
for (const { x, y } of data) {
  opt.zeroGrad();
  const loss = nn.functional.crossEntropy(single.call(x.to('openreg:0')), y.to('openreg:0'));
  loss.backward();
  opt.step();
  singleLosses.push(await loss.item<number>());
}
const singleMs = (performance.now() - started) / STEPS;

// Two devices, half the batch each, gradients averaged by DistributedDataParallel.
const replicas = [0, 1].map((d) => {
  const m = new Cnn().to(`openreg:${d}`);
  m.loadStateDict(initial);
  return m;
});
// Buckets of about 4 KiB (PyTorch's 25 MiB would hold this whole model): a layer's gradients are averaged once both devices have them.
const ddp = new nn.DistributedDataParallel(replicas, { bucketCapMb: 0.004 });
const ddpOpt = new optim.SGD(ddp.parameters(), { lr: 0.01, momentum: 0.9 });
const ddpLosses: number[] = [];
started = performance.now();
for (const { x, y } of data) {
  ddpOpt.zeroGrad();
  const halves = [0, 1].map((d) => [x.slice(0, d * (BATCH / 2), (d + 1) * (BATCH / 2)).to(`openreg:${d}`), y.slice(0, d * (BATCH / 2), (d + 1) * (BATCH / 2)).to(`openreg:${d}`)] as const);
  const outputs: Tensor[] = ddp.call([halves[0]![0]], [halves[1]![0]]);
  const losses = outputs.map((out, d) => nn.functional.crossEntropy(out, halves[d]![1]));
  for (const loss of losses) loss.backward();
  ddpOpt.step();
  ddpLosses.push(((await losses[0]!.item<number>()) + (await losses[1]!.item<number>())) / 2);
}
const ddpMs = (performance.now() - started) / STEPS;

/**
 * One more DDP step under the profiler: the share of the all-reduce's device time (the
 * collectives' kernels and copies) during which computation ran. A device worker runs one
 * command at a time, so on this simulated hardware an all-reduce can hide only behind the
 * other device's backward, never its own device's.
 */
async function hiddenFraction(): Promise<number> {
  const rt = replicas[0]!.parameters()[0]!.storage('hiddenFraction').runtime!;
  const { x, y } = data[0]!;
  rt.profiler.start();
  ddpOpt.zeroGrad();
  const halves = [0, 1].map((d) => [x.slice(0, d * (BATCH / 2), (d + 1) * (BATCH / 2)).to(`openreg:${d}`), y.slice(0, d * (BATCH / 2), (d + 1) * (BATCH / 2)).to(`openreg:${d}`)] as const);
  const outputs: Tensor[] = ddp.call([halves[0]![0]], [halves[1]![0]]);
  outputs.forEach((out, d) => nn.functional.crossEntropy(out, halves[d]![1]).backward());
  await openreg.synchronize(0);
  await openreg.synchronize(1);
  rt.profiler.stop();
  return rt.profiler.communicationOverlap().fraction;
}
const hidden = await hiddenFraction();

const show = (xs: number[]) => [0, 9, 19, 29].map((i) => xs[i]!.toFixed(4)).join(' → ');
console.log(`CNN on 1 device:           loss ${show(singleLosses)}, ${singleMs.toFixed(1)} ms/step`);
console.log(`DistributedDataParallel ×2: loss ${show(ddpLosses)}, ${ddpMs.toFixed(1)} ms/step; ${(100 * hidden).toFixed(0)} % of the all-reduce time ran while the other device was still computing`);
const drift = Math.max(...singleLosses.map((l, i) => Math.abs(l - ddpLosses[i]!)));
const [w0, w1] = replicas.map((m) => m.stateDict()['fc.weight']!);
const replicaGap = await w0!.sub(w1!.to('openreg:0')).abs().amax().item<number>();
console.log(`largest loss difference between the runs: ${drift.toExponential(2)}; replicas differ by ${replicaGap}`);
if (!(singleLosses[STEPS - 1]! < singleLosses[0]! / 2) || drift > 1e-3 || replicaGap !== 0) {
  console.error('the runs disagree');
  process.exit(1);
}

/**
 * The tensor half of the demo: OpenReg's usage example on real device workers, a custom
 * operator with its own device kernel and meta function, an op that runs through the CPU
 * fallback, a two-layer MLP whose layers live on two devices, trained by SGD and checked
 * against the same training on the cpu, an autocast matmul, and a save/load round trip
 * across devices.
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Library, Runtime, type Tensor, autocast, callOp, empty, getRngState, kernelsOf, load, loadedBackends, manualSeed, noGrad, randn, save, shutdownCpuPool, tensor } from '../../src/index.js';

const rt = await Runtime.create({ deviceCount: 2 });
try {
  // 1. The seed example.
  const x = tensor([[1, 2], [3, 4]], { device: 'openreg' });
  const y = x.add(2); // a kernel on device 0's worker
  console.log(`\ntensor demo: x.add(2) ran on ${y.device}; values ${JSON.stringify(await (await y.cpu()).toArray())}`);

  // 2. A custom op: schema, an openreg kernel launching a user kernel on the current stream, a meta function.
  const kernels = await rt.loadModule(new URL('./kernels.js', import.meta.url));
  const customAbs = kernels.getFunction('customAbs');
  using lib = new Library('myops');
  lib.define('custom_abs(Tensor input) -> Tensor');
  lib.impl('custom_abs', 'openreg', (input: Tensor) => {
    const c = input.to('float32').contiguous();
    const out = empty(c.shape, { device: c.device });
    rt.launchKernel(customAbs, [c.dataPtr(), out.dataPtr(), c.numel()], rt.getCurrentStream(c.device.index));
    return out;
  });
  lib.impl('custom_abs', 'meta', (input: Tensor) => empty(input.shape, { device: 'meta' }));
  const v = tensor([-1.5, 2, -3], { device: 'openreg:1' });
  const abs = callOp('myops::custom_abs', v) as Tensor;
  const shape = (callOp('myops::custom_abs', empty([128, 64], { device: 'meta' })) as Tensor).shape;
  console.log(`custom op myops::custom_abs on ${abs.device}: ${JSON.stringify(await abs.toArray())}; on meta: shape [${shape}] without running a kernel`);

  // 3. Fallback: pow with a tensor exponent has no openreg kernel, so it runs on the CPU pool, in stream order.
  const base = tensor([0, 0.5, 1], { device: 'openreg' });
  const t = base.mul(2).pow(base.add(1)).add(1);
  console.log(`fallback: pow.Tensor_Tensor has kernels for [${kernelsOf('pow.Tensor_Tensor').join(', ')}]; x.mul(2).pow(x.add(1)).add(1) on openreg = ${JSON.stringify(await t.toArray())}`);

  // 4. An MLP: layer 1 on openreg:0, layer 2 on openreg:1; the same on the cpu to compare (same initial values).
  const train = async (d0: string, d1: string) => {
    manualSeed(0);
    const data = randn([64, 8]).to(d0);
    const target = data.sum(1, true).relu().to(d1);
    const w1 = randn([8, 16]).mul(0.3).to(d0).requiresGrad_();
    const w2 = randn([16, 1]).mul(0.3).to(d1).requiresGrad_();
    const losses: number[] = [];
    for (let step = 0; step < 200; step++) {
      const diff = data.mm(w1).relu().to(d1).mm(w2).sub(target);
      const loss = diff.mul(diff).mean();
      loss.backward();
      noGrad(() => {
        for (const p of [w1, w2]) {
          p.sub_(p.grad!, 0.05);
          p.grad!.dispose();
          p.grad = undefined;
        }
      });
      if (step % 50 === 0 || step === 199) losses.push((await loss.item()) as number);
    }
    return losses;
  };
  const onDevices = await train('openreg:0', 'openreg:1');
  const onCpu = await train('cpu', 'cpu');
  const worst = Math.max(...onDevices.map((l, i) => Math.abs(l - onCpu[i]!)));
  console.log(`MLP on openreg:0 + openreg:1, loss every 50 steps: ${onDevices.map((l) => l.toFixed(5)).join(' → ')}`);
  console.log(`same training on cpu: ${onCpu.map((l) => l.toFixed(5)).join(' → ')} (largest difference ${worst.toExponential(2)})`);
  if (!(worst <= 1e-5)) throw new Error('device and cpu training disagree');

  // 5. Autocast: mm in float16 on the device, dot in float32.
  const [a, b] = [randn([64, 64], { device: 'openreg:0' }), randn([64, 64], { device: 'openreg:0' })];
  const [half, dot] = autocast({ deviceType: 'openreg', dtype: 'float16' }, () => [a.mm(b), a.flatten().dot(b.flatten())]);
  const full = a.mm(b);
  const diff = (await half.to('float32').sub(full).abs().amax().item()) as number;
  console.log(`autocast: a.mm(b) ran in ${half!.dtype} (max difference from float32 ${diff.toFixed(4)}); dot stayed ${dot!.dtype}`);

  // 6. Save and load across devices (safetensors), with the generator state.
  const path = join(tmpdir(), `openreg-demo-${process.pid}.safetensors`);
  await save({ 'layer.weight': full, 'layer.bias': tensor([0.5, -1], { device: 'openreg:1' }), rng: getRngState('openreg:1') }, path);
  const loaded = await load(path);
  const moved = await load(path, { mapLocation: (_name, saved) => (saved === 'openreg:1' ? 'openreg:0' : saved) });
  rmSync(path, { force: true });
  const same = (await loaded['layer.weight']!.eq(full).sum().item()) === full.numel();
  console.log(
    `save/load: ${Object.keys(loaded).length} tensors round-tripped (weight ${same ? 'identical' : 'DIFFERENT'} on ${loaded['layer.weight']!.device}, bias back on ${loaded['layer.bias']!.device}, mapped to ${moved['layer.bias']!.device})`,
  );
  console.log(`backends loaded by autoload: ${loadedBackends().map((p) => p.name).join(', ')}`);
  if (!same) throw new Error('save/load changed the weights');
} finally {
  await rt.close();
  await shutdownCpuPool();
}

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runScript } from './helpers.js';

// Lazy initialization, as CUDA's first use: no set-up, options from init() or the
// environment, seeding before first use, and a script that never closes anything exits.

describe('lazy initialization', () => {
  it("npm start's first demo, OpenReg's example verbatim, prints PyTorch's output and exits 0 without close()", () => {
    const example = fileURLToPath(new URL('../dist/examples/openreg/main.js', import.meta.url));
    const r = spawnSync(process.execPath, [example], { encoding: 'utf8', timeout: 15_000 });
    expect([r.status, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toBe("tensor([[3, 4],\n        [5, 6]], device='openreg:0')\nDevice of y: openreg:0\ntensor([[3, 4],\n        [5, 6]]) cpu\n");
  });

  it("runs OpenReg's example with no set-up and exits 0 by itself, with no close()", () => {
    const r = runScript(`
      const { device, tensor, isAvailable } = openregModule;
      if (!isAvailable()) { console.log('OpenReg backend is not available'); process.exit(); }
      const dev = device('openreg');
      const x = tensor([[1, 2], [3, 4]], { device: dev });
      const y = x.add(2);
      console.log('Device of y: ' + y.device);
      const z = await y.cpu();
      console.log(JSON.stringify(await z.toArray()), z.device.toString());
    `);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('Device of y: openreg:0\n[[3,4],[5,6]] cpu\n');
  });

  it('takes its options from the environment, and refuses a value it cannot parse, naming the variable', () => {
    const ok = runScript(`
      const { tensor, deviceCount } = openregModule;
      console.log(deviceCount(), JSON.stringify(await tensor([1, 2], { device: 'openreg:2' }).add(1).toArray()), Runtime.primary().options.deviceMemoryBytes);
    `, [], { OPENREG_DEVICE_COUNT: '3', OPENREG_DEVICE_MEMORY: '8M' });
    expect([ok.status, ok.stdout]).toEqual([0, `3 [2,3] ${8 * 2 ** 20}\n`]);
    const bad = runScript(`
      try { openregModule.tensor([1], { device: 'openreg' }); } catch (e) { console.log(e.code, e.message); }
    `, [], { OPENREG_DEVICE_COUNT: 'two' });
    expect(bad.stdout).toMatch(/^ERR_INVALID_VALUE .*environment variable OPENREG_DEVICE_COUNT must be a positive integer/);
  });

  it('init(options) before first use configures the runtime first use gets; after it, new options are refused', () => {
    const r = runScript(`
      const { init, tensor } = openregModule;
      const rt = init({ deviceCount: 1 });
      console.log(rt.getDeviceCount(), tensor([1], { device: 'openreg' }).device.runtime === rt, init() === rt);
      try { init({ deviceCount: 2 }); } catch (e) { console.log(e.code); }
    `);
    expect([r.status, r.stdout]).toEqual([0, '1 true true\nERR_INVALID_VALUE\n']);
  });

  it('refused init() options leave the earlier ones; unparsable environment options make isAvailable() false, not an exception', () => {
    const r = runScript(`
      const { init, isAvailable, deviceCount } = openregModule;
      try { init({ deviceCount: 0 }); } catch (e) { console.log(e.code); }
      console.log(isAvailable(), deviceCount());
    `);
    expect([r.status, r.stdout]).toEqual([0, 'ERR_INVALID_VALUE\ntrue 2\n']);
    const env = runScript(`console.log(openregModule.isAvailable());`, [], { OPENREG_DEVICE_COUNT: 'abc' });
    expect(env.stdout).toBe('false\n');
  });

  it('a Runtime.create made before first use is the runtime openreg devices use', () => {
    const r = runScript(`
      const rt = await Runtime.create({ deviceCount: 1 });
      console.log(openregModule.tensor([1], { device: 'openreg' }).device.runtime === rt);
      await rt.close();
    `);
    expect([r.status, r.stdout]).toEqual([0, 'true\n']);
  });

  it('work still queued when the script ends is finished before the process exits', () => {
    const r = runScript(`
      const { tensor, openreg } = openregModule;
      const x = tensor(new Float32Array(1 << 16).fill(1), { device: 'openreg', shape: [256, 256] });
      let y = x;
      for (let i = 0; i < 4; i++) y = y.matmul(x);
      Runtime.primary().launchHostFunc(openreg.currentStream(), () => console.log('host function after the queued work'));
      void y.data().then((d) => console.log('read', d[0]));
    `);
    expect([r.status, r.stdout]).toEqual([0, 'host function after the queued work\nread ' + 256 ** 4 + '\n']);
  });

  it('manualSeed before first use seeds the runtime first use starts', () => {
    const draw = (seed: number) =>
      runScript(`
        openregModule.manualSeed(${seed});
        console.log(JSON.stringify(await openregModule.rand([4], { device: 'openreg' }).toArray()));
      `).stdout;
    expect(draw(5)).toBe(draw(5));
    expect(draw(5)).not.toBe(draw(6));
  });
});

describe("the README's first screen", () => {
  it('is examples/openreg/main.ts, statement for statement, so the snippet runs as written', async () => {
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const snippet = /```ts\n(import \{ device, openreg, tensor \} from 'openreg';[\s\S]*?)```/.exec(readme)?.[1];
    const example = readFileSync(new URL('../examples/openreg/main.ts', import.meta.url), 'utf8');
    // Comments and layout aside, the same code.
    const code = (text: string) => text.replace(/\/\/.*$/gm, '').replace(/\s+/g, '');
    expect(snippet).toBeDefined();
    expect(code(snippet!)).toBe(code(example));
  });
});

import { describe, expect, it } from 'vitest';
import { runScript } from './helpers.js';

const kernels = new URL('./fixtures/kernels.mjs', import.meta.url).href;

describe('the host process', () => {
  it('exits by itself after close(): no live handles remain', () => {
    const r = runScript(`
      const rt = await Runtime.create({ deviceMemoryBytes: 1 << 20, hostMemoryBytes: 1 << 20 });
      const mod = await rt.loadModule(${JSON.stringify(kernels)});
      const s = rt.streamCreate();
      rt.launchKernel(mod.getFunction('spin'), [2], s);
      rt.launchHostFunc(s, () => {});
      await rt.streamSynchronize(s);
      await rt.close();
      console.log('done');
    `);
    expect(r.error).toBeUndefined();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('done');
  });

  it('is kept alive by pending waits and host functions, then exits even without close()', () => {
    const r = runScript(`
      const rt = await Runtime.create({ deviceMemoryBytes: 1 << 20, hostMemoryBytes: 1 << 20 });
      const mod = await rt.loadModule(${JSON.stringify(kernels)});
      const s = rt.streamCreate();
      rt.launchKernel(mod.getFunction('spin'), [30], s);
      rt.launchHostFunc(s, () => console.log('host function ran'));
      rt.streamSynchronize(s).then(() => console.log('synchronized'));
    `);
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['host function ran', 'synchronized']);
  });

  it('survives a device worker that dies', () => {
    const r = runScript(`
      const rt = await Runtime.create({ deviceMemoryBytes: 1 << 20, hostMemoryBytes: 1 << 20 });
      const mod = await rt.loadModule(${JSON.stringify(kernels)});
      rt.launchKernel(mod.getFunction('exitWorker'), []);
      try { await rt.deviceSynchronize(); } catch (e) { console.log(e.code); }
      await rt.close();
      console.log('host alive');
    `);
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['ERR_DEVICE_LOST', 'host alive']);
  });

  it('starts its workers when the parent has V8 flags workers refuse, and gives them workerResourceLimits', () => {
    const r = runScript(
      `
      const rt = await Runtime.create({ deviceCount: 1, deviceMemoryBytes: 1 << 20, hostMemoryBytes: 1 << 20, workerResourceLimits: { maxOldGenerationSizeMb: 64, stackSizeMb: 4 } });
      const mod = await rt.loadModule(${JSON.stringify(kernels)});
      rt.launchKernel(mod.getFunction('empty'), []);
      await rt.deviceSynchronize();
      await rt.close();
      console.log('started');
    `,
      ['--max-old-space-size=256', '--expose-gc', '--stack-size=900'],
    );
    expect(r.error).toBeUndefined();
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('started');
  });
});

import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// Backend autoload: a project with backend packages installed in its node_modules, run in a
// fresh Node process whose working directory is that project.
const entry = fileURLToPath(new URL('../dist/src/index.js', import.meta.url));
const project = mkdtempSync(join(tmpdir(), 'openreg-autoload-'));
mkdirSync(join(project, 'node_modules'));
for (const name of ['backend-fakedev', 'backend-broken']) {
  cpSync(fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url)), join(project, 'node_modules', `openreg-${name}`), { recursive: true });
}
afterAll(() => rmSync(project, { recursive: true, force: true }));

/** Runs `body` (with the openreg namespace as `o`) in the project; its stdout's last line is JSON. */
function run(body: string, env: Record<string, string> = {}): { result: Record<string, unknown>; stderr: string; status: number | null } {
  const script = `import * as o from ${JSON.stringify(entry)};\nconst out = {};\ntry {\n${body}\n} finally { await o.shutdownCpuPool(); }\nconsole.log(JSON.stringify(out));`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: project, encoding: 'utf8', timeout: 15_000, env: { ...process.env, ...env } });
  const last = child.stdout.trim().split('\n').at(-1) ?? '{}';
  return { result: JSON.parse(last.startsWith('{') ? last : '{}'), stderr: child.stderr, status: child.status };
}

describe('backend autoload', () => {
  it('finds installed backends, openreg’s own first; a broken one is a warning naming its package and the others load', () => {
    const { result, stderr, status } = run(`
      out.loaded = o.loadedBackends().map((b) => b.name);
      out.types = o.deviceTypes();
    `);
    expect(status).toBe(0);
    expect(result.loaded).toEqual(['openreg', 'openreg-backend-fakedev']);
    expect(result.types).toEqual(['cpu', 'meta', 'openreg', 'fakedev']);
    expect(stderr).toMatch(/the device backend of package openreg-backend-broken failed to load and was skipped: this backend cannot start here/);
  });

  it('a second backend works without an import: its devices, its builtin kernels, its own op, its metadata', () => {
    const { result, status, stderr } = run(`
      const x = o.tensor([1, 2, 3], { dtype: 'float32', device: 'fakedev:1' });
      out.device = x.add(1).device.toString();
      out.values = await x.add(1).toArray();
      out.triple = await o.callOp('fakedev_ops::triple', x).toArray();
      out.back = await x.to('cpu').toArray();
      const saved = await o.save({ x });
      const header = JSON.parse(new TextDecoder().decode(saved.subarray(8, 8 + Number(new DataView(saved.buffer).getBigUint64(0, true)))));
      out.meta = header.__metadata__['openreg.backend.x'];
      out.loadedDevice = (await o.load(saved)).x.device.toString();
      const m = o.ones([2, 2], { device: 'fakedev:0' });
      out.amp = [o.getAmpSupportedDtype('fakedev'), o.autocast({ deviceType: 'fakedev' }, () => m.mm(m).dtype)];
    `);
    expect(status, stderr).toBe(0);
    expect(result).toEqual({ device: 'fakedev:1', values: [2, 3, 4], triple: [3, 6, 9], back: [1, 2, 3], meta: '{"fixture":"yes"}', loadedDevice: 'fakedev:1', amp: [['bfloat16'], 'bfloat16'] });
  });

  it('keeps the two backends apart: no mixing, and each one’s ops and fallbacks stay its own', () => {
    const { result, status, stderr } = run(`
      const rt = await o.Runtime.create({ deviceCount: 1 });
      const f = o.tensor([1, 2], { dtype: 'float32', device: 'fakedev:0' });
      const r = o.tensor([1, 2], { dtype: 'float32', device: 'openreg:0' });
      const codeOf = (fn) => { try { fn(); return 'ok'; } catch (e) { return e.code; } };
      out.mix = codeOf(() => f.add(r));
      out.tripleOnOpenreg = codeOf(() => o.callOp('fakedev_ops::triple', r));
      out.powOnFakedev = codeOf(() => f.pow(f));               // pow.Tensor_Tensor: no device kernel, and fakedev has no fallback
      out.powOnOpenreg = (await r.pow(r).toArray()).length;  // openreg's global fallback runs it
      out.pinOnOpenreg = codeOf(() => o.callOp('openreg::pin_memory', r)); // blocklisted on openreg
      out.hypotOnFakedev = codeOf(() => f.hypot(f));            // openreg binds hypot to its fallback; fakedev runs its own kernel
      out.hypotOnOpenreg = await r.hypot(r).toArray();
      out.copy = await f.to('openreg:0').add(r).toArray();    // copies go between them
      await rt.close();
    `);
    expect(status, stderr).toBe(0);
    expect(result).toEqual({
      mix: 'ERR_INVALID_VALUE',
      tripleOnOpenreg: 'ERR_NOT_SUPPORTED',
      powOnFakedev: 'ERR_NOT_SUPPORTED',
      powOnOpenreg: 2,
      pinOnOpenreg: 'ERR_NOT_SUPPORTED',
      hypotOnFakedev: 'ok',
      hypotOnOpenreg: [Math.fround(Math.SQRT2), Math.fround(2 * Math.SQRT2)],
      copy: [2, 4],
    });
  });

  it('OPENREG_DEVICE_BACKEND_AUTOLOAD=0 turns discovery off; loadBackend registers one by hand', () => {
    const { result, status, stderr } = run(
      `
      out.loaded = o.loadedBackends().length;
      out.unknown = (() => { try { o.device('openreg:0'); return 'ok'; } catch (e) { return e.code; } })();
      await o.loadBackend(${JSON.stringify(fileURLToPath(new URL('..', import.meta.url)))});
      out.after = o.device('openreg:0').toString();
    `,
      { OPENREG_DEVICE_BACKEND_AUTOLOAD: '0' },
    );
    expect(status, stderr).toBe(0);
    expect(result).toEqual({ loaded: 0, unknown: 'ERR_INVALID_VALUE', after: 'openreg:0' });
  });
});

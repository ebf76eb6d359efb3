import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCode, type Runtime, type Tensor, load, loadBackend, loadMetadata, rand, registerSerialization, save, tensor, zeros } from '../dist/src/index.js';
import { expectRejectCode, useTensorRuntime } from './helpers.js';
import { writeSafetensors } from './safetensors-bytes.js';

// save/load and the backend loader under failure and hostile input: a failed save never
// leaves half a file, every key a file can carry round-trips, and file and package errors
// are coded errors naming the call, with the underlying error as cause.
let rt: Runtime;
useTensorRuntime({ deviceCount: 2, deviceMemoryBytes: 32 << 20, hostMemoryBytes: 16 << 20 }, (r) => (rt = r));
const root = mkdtempSync(join(tmpdir(), 'openreg-robust-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
/** A fresh, empty directory for one test. */
const freshDir = (): string => {
  const d = join(root, `case-${n++}`);
  mkdirSync(d);
  return d;
};

/** The header names of safetensors bytes, read independently. */
function headerKeys(bytes: Uint8Array): { names: string[]; metadata: string[] } {
  const len = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + len))) as Record<string, unknown>;
  return { names: Object.keys(header).filter((k) => k !== '__metadata__').sort(), metadata: Object.keys((header.__metadata__ ?? {}) as object).sort() };
}

/** A 6 MiB device tensor: two 4 MiB chunks through pinned memory, so a fault on the second copy strikes after bytes were written. */
async function twoChunkTensor(): Promise<Tensor> {
  const t = rand([3 << 19], { device: 'openreg:1' });
  await t.ready();
  return t;
}

/** Saves `t` to `path` with the second device-to-host copy of device 1 failing; the save must reject. */
async function failingSave(t: Tensor, path: string): Promise<void> {
  rt.faults.inject({ device: 1, at: 'copy', nth: 2, error: 'ERR_LAUNCH_FAILURE' });
  try {
    await expectRejectCode(save({ big: t }, path), ErrorCode.LAUNCH_FAILURE);
  } finally {
    await rt.deviceReset(1);
  }
}

describe('a failed save leaves no partial file', () => {
  it('a save whose device read fails midway leaves nothing at path and no temporary in the directory', async () => {
    const dir = freshDir();
    const path = join(dir, 'model.safetensors');
    await failingSave(await twoChunkTensor(), path);
    expect(existsSync(path)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a failed save over an existing file keeps its previous content', async () => {
    const dir = freshDir();
    const path = join(dir, 'model.safetensors');
    await save({ old: tensor([1, 2, 3]) }, path);
    const before = readFileSync(path);
    await failingSave(await twoChunkTensor(), path);
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
    expect(await (await load(path)).old!.toArray()).toEqual([1, 2, 3]);
  });

  it('a save whose target is a directory is a coded error and leaves no temporary beside it', async () => {
    const dir = freshDir();
    mkdirSync(join(dir, 'taken'));
    const error = await expectRejectCode(save({ x: tensor([1]) }, join(dir, 'taken')), ErrorCode.INVALID_VALUE);
    expect(error.message).toMatch(/^save: cannot write ".*taken": EISDIR/);
    expect(readdirSync(dir)).toEqual(['taken']);
  });

  it('a save that succeeds replaces the file, keeps its permissions and leaves only it', async () => {
    const dir = freshDir();
    const path = join(dir, 'model.safetensors');
    await save({ x: tensor([1]) }, path);
    chmodSync(path, 0o600);
    await save({ x: tensor([2, 3], { device: 'openreg:1' }) }, path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
    expect(await (await load(path, { mapLocation: 'cpu' })).x!.toArray()).toEqual([2, 3]);
  });
});

describe('every key a file can carry round-trips', () => {
  const NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];
  const f32 = (v: number) => new Uint8Array(new Float32Array([v]).buffer);

  it('tensors named __proto__, constructor, toString, hasOwnProperty load as own keys of a prototype-less result', async () => {
    const header: Record<string, unknown> = Object.create(null);
    NAMES.forEach((name, i) => (header[name] = { dtype: 'F32', shape: [1], data_offsets: [4 * i, 4 * i + 4] }));
    const out = await load(writeSafetensors(header, new Uint8Array(NAMES.flatMap((_, i) => [...f32(i)]))));
    expect(Object.getPrototypeOf(out)).toBe(null);
    expect(Object.keys(out).sort()).toEqual([...NAMES].sort());
    for (const [i, name] of NAMES.entries()) {
      expect(Object.hasOwn(out, name)).toBe(true);
      expect(await out[name]!.toArray()).toEqual([i]);
    }
  });

  it('a tensor of more dimensions than any tensor may have is refused before anything is made', async () => {
    const bytes = writeSafetensors({ deep: { dtype: 'F32', shape: new Array(65).fill(1), data_offsets: [0, 4] } }, f32(1));
    const error = await expectRejectCode(load(bytes), ErrorCode.INVALID_VALUE);
    expect(error.message).toMatch(/^load: .*"deep" has 65 dimensions; tensors of at most 64 dimensions are supported/);
  });

  it('a name the file does not have is absent, even one Object.prototype has', async () => {
    const out = await load((await save({ w: zeros([1]) }))!);
    expect([out.constructor, out.toString, out.__proto__]).toEqual([undefined, undefined, undefined]);
  });

  it('save writes such names into the header, from an object or a Map, and they come back through bytes and files', async () => {
    const fromObject: Record<string, Tensor> = {};
    NAMES.forEach((name, i) => Object.defineProperty(fromObject, name, { value: tensor([i]), enumerable: true }));
    const fromMap = new Map(NAMES.map((name, i) => [name, tensor([i], { device: 'openreg:0' })]));
    const path = join(freshDir(), 'keys.safetensors');
    await save(fromMap, path);
    for (const bytes of [(await save(fromObject))!, readFileSync(path)]) {
      expect(headerKeys(bytes).names).toEqual([...NAMES].sort());
      const out = await load(bytes);
      for (const [i, name] of NAMES.entries()) expect(await out[name]!.toArray()).toEqual([i]);
    }
  });

  it('metadata keys such as __proto__ and constructor round-trip through save and loadMetadata', async () => {
    const metadata: Record<string, string> = {};
    for (const name of NAMES) Object.defineProperty(metadata, name, { value: `v-${name}`, enumerable: true });
    const bytes = (await save({ w: zeros([1]) }, undefined, { metadata }))!;
    expect(headerKeys(bytes).metadata).toEqual(expect.arrayContaining(NAMES));
    const back = await loadMetadata(bytes);
    expect(Object.getPrototypeOf(back)).toBe(null);
    expect(Object.keys(back).sort()).toEqual([...NAMES].sort());
    for (const name of NAMES) expect(back[name]).toBe(`v-${name}`);
  });

  it('a backend’s deserialize gets its metadata as a prototype-less record, keys like __proto__ included', async () => {
    let seen: Record<string, string> | undefined;
    const dispose = registerSerialization('cpu', {
      serialize: () => Object.defineProperty({ version: '1' }, '__proto__', { value: 'p', enumerable: true }) as Record<string, string>,
      deserialize: (_t, meta) => void (seen = meta),
    });
    try {
      await load((await save({ w: zeros([1]) }))!);
    } finally {
      dispose();
    }
    expect(Object.getPrototypeOf(seen)).toBe(null);
    expect(Object.keys(seen!).sort()).toEqual(['__proto__', 'version']);
    expect(seen!.constructor).toBeUndefined();
  });
});

describe('file errors are coded, with the Node error as cause', () => {
  const missing = (dir: string) => join(dir, 'no', 'such.safetensors');
  const cases: [call: string, verb: string, nodeCode: string, run: (dir: string) => [path: string, promise: () => Promise<unknown>]][] = [
    ['load', 'read', 'ENOENT', (d) => [missing(d), () => load(missing(d))]],
    ['load', 'read', 'EISDIR', (d) => [d, () => load(d)]],
    ['loadMetadata', 'read', 'ENOENT', (d) => [missing(d), () => loadMetadata(missing(d))]],
    ['loadMetadata', 'read', 'EISDIR', (d) => [d, () => loadMetadata(d)]],
    ['save', 'write', 'ENOENT', (d) => [missing(d), () => save({ x: zeros([1]) }, missing(d))]],
  ];
  it.each(cases)('%s: a %s that fails with %s', async (call, verb, nodeCode, run) => {
    const [path, start] = run(freshDir());
    let promise: Promise<unknown> | undefined;
    expect(() => (promise = start())).not.toThrow();
    const error = await expectRejectCode(promise!, ErrorCode.INVALID_VALUE);
    expect(error.message.startsWith(`${call}: cannot ${verb} "${path}": ${nodeCode}`)).toBe(true);
    expect((error.cause as NodeJS.ErrnoException).code).toBe(nodeCode);
  });

  it.skipIf(process.getuid?.() === 0)('a file that cannot be opened (EACCES) is coded for load and save', async () => {
    const dir = freshDir();
    const path = join(dir, 'locked.safetensors');
    writeFileSync(path, (await save({ x: zeros([1]) }))!);
    chmodSync(path, 0o000);
    chmodSync(dir, 0o500); // no new files here: the save's temporary cannot be created
    try {
      const read = await expectRejectCode(load(path), ErrorCode.INVALID_VALUE);
      expect([read.message.startsWith(`load: cannot read "${path}": EACCES`), (read.cause as NodeJS.ErrnoException).code]).toEqual([true, 'EACCES']);
      const write = await expectRejectCode(save({ x: zeros([1]) }, path), ErrorCode.INVALID_VALUE);
      expect([write.message.startsWith(`save: cannot write "${path}": EACCES`), (write.cause as NodeJS.ErrnoException).code]).toEqual([true, 'EACCES']);
    } finally {
      chmodSync(dir, 0o700);
      chmodSync(path, 0o600);
    }
  });

  it('a mapLocation or serialize callback that throws is a coded error naming the call, with its error as cause', async () => {
    const bytes = (await save({ w: zeros([1]) }))!;
    const boom = new TypeError('boom');
    const mapped = await expectRejectCode(
      load(bytes, {
        mapLocation: () => {
          throw boom;
        },
      }),
      ErrorCode.INVALID_VALUE,
    );
    expect([mapped.message, mapped.cause]).toEqual(['load: options.mapLocation threw for tensor "w": boom', boom]);
    const dispose = registerSerialization('cpu', {
      serialize: () => {
        throw boom;
      },
      deserialize: () => undefined,
    });
    try {
      const saved = await expectRejectCode(save({ w: zeros([1]) }), ErrorCode.INVALID_VALUE);
      expect([saved.message, saved.cause]).toEqual(['save: the cpu backend\'s serialize failed for tensor "w": boom', boom]);
    } finally {
      dispose();
    }
  });
});

describe('backend packages that cannot load are coded errors naming loadBackend', () => {
  /** A package folder with `files` (package.json given as an object). */
  function pkg(files: Record<string, unknown>): string {
    const dir = freshDir();
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
    return dir;
  }
  const manifest = (name: string, backend: unknown = './backend.mjs') => ({ name, type: 'module', openreg: { backend } });

  it('a missing entry module: the import error is the cause', async () => {
    const error = await expectRejectCode(loadBackend(pkg({ 'package.json': manifest('no-entry') })), ErrorCode.INVALID_VALUE);
    expect(error.message).toMatch(/^loadBackend: the device backend of package no-entry failed to load: its entry .*backend\.mjs could not be imported/);
    expect((error.cause as NodeJS.ErrnoException).code).toBe('ERR_MODULE_NOT_FOUND');
  });

  it('an entry without register(api)', async () => {
    const error = await expectRejectCode(loadBackend(pkg({ 'package.json': manifest('no-register'), 'backend.mjs': 'export const x = 1;\n' })), ErrorCode.INVALID_VALUE);
    expect(error.message).toMatch(/^loadBackend: the device backend of package no-register failed to load: its entry .* exports no register\(api\) function$/);
  });

  it('a register(api) that throws: its error is the cause', async () => {
    const error = await expectRejectCode(loadBackend(pkg({ 'package.json': manifest('throws'), 'backend.mjs': 'export function register() { throw new RangeError("not here"); }\n' })), ErrorCode.INVALID_VALUE);
    expect(error.message).toBe('loadBackend: the device backend of package throws failed to load: its register(api) threw: not here');
    expect(error.cause).toBeInstanceOf(RangeError);
  });

  it('a package.json that is not JSON, or whose openreg.backend is not a path', async () => {
    const json = await expectRejectCode(loadBackend(pkg({ 'package.json': '{"name": ' })), ErrorCode.INVALID_VALUE);
    expect([json.message, json.cause]).toEqual([expect.stringMatching(/^loadBackend: .*package\.json is not valid JSON/), expect.any(SyntaxError)]);
    for (const backend of [5, null, '', {}]) {
      const error = await expectRejectCode(loadBackend(pkg({ 'package.json': manifest('bad-entry', backend) })), ErrorCode.INVALID_VALUE);
      expect(error.message).toMatch(/^loadBackend: the device backend of package bad-entry failed to load: its package.json's openreg.backend must be the path of its entry module/);
    }
  });
});

describe('autoload reports what it cannot use', () => {
  const entry = fileURLToPath(new URL('../dist/src/index.js', import.meta.url));
  /** Imports openreg in a fresh process in `cwd`; returns its stderr and exit status. */
  const importIn = (cwd: string, env: Record<string, string> = {}) =>
    spawnSync(process.execPath, ['--input-type=module', '-e', `const o = await import(${JSON.stringify(entry)}); console.log(JSON.stringify(o.loadedBackends().map((b) => b.name))); await o.shutdownCpuPool();`], {
      cwd,
      encoding: 'utf8',
      timeout: 15_000,
      env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'OPENREG_DEVICE_BACKEND_AUTOLOAD')), ...env },
    });

  it('a package whose openreg.backend is not a path is a warning naming it, not silently skipped', () => {
    const project = freshDir();
    mkdirSync(join(project, 'node_modules', 'openreg-backend-typo'), { recursive: true });
    writeFileSync(join(project, 'node_modules', 'openreg-backend-typo', 'package.json'), JSON.stringify({ name: 'openreg-backend-typo', openreg: { backend: 5 } }));
    const child = importIn(project);
    expect(child.status, child.stderr).toBe(0);
    expect(child.stdout.trim()).toBe('["openreg"]');
    expect(child.stderr).toMatch(/the device backend of package openreg-backend-typo failed to load and was skipped: its package.json's openreg.backend must be the path of its entry module, got 5/);
  });

  it('OPENREG_DEVICE_BACKEND_AUTOLOAD other than 0 or 1 is a warning, and autoload is off (PyTorch’s rule)', () => {
    const child = importIn(freshDir(), { OPENREG_DEVICE_BACKEND_AUTOLOAD: 'false' });
    expect(child.status, child.stderr).toBe(0);
    expect(child.stdout.trim()).toBe('[]');
    expect(child.stderr).toMatch(/OPENREG_DEVICE_BACKEND_AUTOLOAD must be 0 or 1, got "false"; backend autoload is off/);
  });
});

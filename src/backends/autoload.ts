import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { invalidValue } from '../errors/errors.js';
import { describe } from '../errors/openreg-error.js';
import { causedError, reasonOf, requirePath } from '../serialization/checks.js';
import { requireArity } from '../errors/validate.js';
import { backendApi } from './backend-api.js';

/**
 * Backend autoload (PyTorch's `torch.backends` entry points, `_import_device_backends`): a
 * backend is a package whose package.json has `"openreg": { "backend": "./entry.js" }`; the
 * entry exports `register(api)`. Installed backends are found in the node_modules folders
 * from the working directory up, openreg's own first, and registered when openreg is first
 * imported (as PyTorch does at `import torch`). `OPENREG_DEVICE_BACKEND_AUTOLOAD=0` turns
 * discovery off; `loadBackend(dir)` registers one by hand.
 */

/** A backend package found on disk. */
export interface BackendPackage {
  name: string;
  /** Absolute path of the package folder. */
  dir: string;
  /** Absolute path of the module that registers it. */
  entry: string;
}

const loaded: BackendPackage[] = [];

/** Why a package could not be registered: the problem in a line, and the error behind it. */
class BackendFailure extends Error {
  constructor(
    readonly pkgName: string,
    readonly problem: string,
    readonly original?: unknown,
    /** True when the package names openreg in its package.json: discovery reports it rather than skipping it. */
    readonly declared = true,
  ) {
    super(original === undefined ? problem : `${problem}: ${reasonOf(original)}`);
  }
}

/**
 * The backend package in `dir`: undefined if it declares no backend (no package.json, or no
 * `openreg` field); a BackendFailure if it declares one that cannot be used.
 */
function backendOf(dir: string): BackendPackage | BackendFailure | undefined {
  const file = join(dir, 'package.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : new BackendFailure(dir, `cannot read ${file}`, error, false);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return new BackendFailure(dir, `${file} is not valid JSON`, error, false);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return new BackendFailure(dir, `${file} is not a JSON object`, undefined, false);
  const { name, openreg } = json as { name?: unknown; openreg?: unknown };
  const pkgName = typeof name === 'string' && name !== '' ? name : dir;
  if (openreg === undefined) return undefined;
  const entry = openreg !== null && typeof openreg === 'object' ? (openreg as { backend?: unknown }).backend : undefined;
  // A package that names openreg but no usable entry is a mistake to report, not a package to skip.
  if (typeof entry !== 'string' || entry === '' || entry.includes('\0')) return new BackendFailure(pkgName, `its package.json's openreg.backend must be the path of its entry module, got ${describe(entry)}`);
  return { name: pkgName, dir, entry: resolve(dir, entry) };
}

/** Backend packages in openreg's own folder, then in the node_modules folders from `from` up, and those that declare a backend badly. */
function discover(from: string): { found: BackendPackage[]; failed: BackendFailure[] } {
  const found: BackendPackage[] = [];
  const failed: BackendFailure[] = [];
  const add = (dir: string, quiet = false): void => {
    const pkg = backendOf(dir);
    if (pkg instanceof BackendFailure) {
      // node_modules holds many packages that are not backends: one whose package.json is unreadable says nothing about openreg.
      if (pkg.declared && !quiet) failed.push(pkg);
    } else if (pkg !== undefined && !found.some((f) => f.entry === pkg.entry || f.name === pkg.name)) found.push(pkg);
  };
  add(fileURLToPath(new URL('../../../', import.meta.url)), true);
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const modules = join(dir, 'node_modules');
    if (existsSync(modules)) {
      for (const name of readdirSync(modules)) {
        const dirs = name.startsWith('@') ? readdirSync(join(modules, name)).map((n) => join(modules, name, n)) : [join(modules, name)];
        for (const d of dirs) add(d);
      }
    }
    if (dirname(dir) === dir) break;
  }
  return { found, failed };
}

/** True if `path` is a directory (false when it does not exist or cannot be looked at). */
function isDirectory(path: string): boolean {
  try {
    return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
  } catch {
    return false;
  }
}

/** Backend packages: openreg's own, then those in node_modules folders from `from` up. */
export function discoverBackends(from?: string): BackendPackage[] {
  const call = 'discoverBackends';
  requireArity(call, arguments, 1);
  const start = from === undefined ? process.cwd() : requirePath(call, 'from', from);
  if (!isDirectory(start)) throw invalidValue(call, 'from must be an existing directory', from);
  return discover(start).found;
}

/** Imports a backend package's entry and calls its `register(api)`; any failure is a BackendFailure. */
async function registerPackage(pkg: BackendPackage): Promise<void> {
  let mod: { register?: unknown };
  try {
    mod = (await import(pathToFileURL(pkg.entry).href)) as { register?: unknown };
  } catch (error) {
    throw new BackendFailure(pkg.name, `its entry ${pkg.entry} could not be imported`, error);
  }
  if (typeof mod.register !== 'function') throw new BackendFailure(pkg.name, `its entry ${pkg.entry} exports no register(api) function`);
  try {
    await (mod.register as (api: typeof backendApi) => unknown)(backendApi);
  } catch (error) {
    throw new BackendFailure(pkg.name, 'its register(api) threw', error);
  }
  loaded.push(pkg);
}

/** Whether discovery is on: PyTorch's rule (only unset, empty or "1" is on), and a value other than 0 or 1 is a warning. */
function autoloadEnabled(): boolean {
  const value = process.env.OPENREG_DEVICE_BACKEND_AUTOLOAD;
  if (value === undefined || value === '' || value === '1') return true;
  if (value !== '0') {
    process.emitWarning(`openreg: OPENREG_DEVICE_BACKEND_AUTOLOAD must be 0 or 1, got ${JSON.stringify(value)}; backend autoload is off`, { code: 'OPENREG_BACKEND_LOAD' });
  }
  return false;
}

function warn(failure: BackendFailure): void {
  // What went wrong inside the package, when there is such an error, is the most useful line.
  const why = failure.original === undefined ? failure.problem : reasonOf(failure.original);
  process.emitWarning(`openreg: the device backend of package ${failure.pkgName} failed to load and was skipped: ${why}`, { code: 'OPENREG_BACKEND_LOAD' });
}

/** Registers every discovered backend; one that fails is a warning naming its package, and the others still load. */
export async function autoloadBackends(): Promise<void> {
  requireArity('autoloadBackends', arguments, 0);
  if (!autoloadEnabled()) return;
  const { found, failed } = discover(process.cwd());
  for (const failure of failed) warn(failure);
  for (const pkg of found) {
    // A second call registers only what is new: register(api) is not required to be idempotent.
    if (loaded.some((l) => l.entry === pkg.entry)) continue;
    try {
      await registerPackage(pkg);
    } catch (error) {
      if (!(error instanceof BackendFailure)) throw error;
      warn(error);
    }
  }
}

/** Registers the backend package in folder `dir` (for when autoload is off); a failure is ERR_INVALID_VALUE naming loadBackend, with the package's error as cause. */
export async function loadBackend(dir: string): Promise<BackendPackage> {
  const call = 'loadBackend';
  requireArity(call, arguments, 1);
  const folder = resolve(requirePath(call, 'dir', dir));
  if (!isDirectory(folder)) throw invalidValue(call, 'dir must be an existing package folder', dir);
  const pkg = backendOf(folder) ?? new BackendFailure(folder, "its package.json has no openreg.backend entry (or it has no package.json)");
  try {
    if (pkg instanceof BackendFailure) throw pkg;
    if (!loaded.some((l) => l.entry === pkg.entry)) await registerPackage(pkg);
    return pkg;
  } catch (error) {
    if (!(error instanceof BackendFailure)) throw error;
    throw causedError('backendFailed', { call, name: error.pkgName, problem: error.message }, error.original);
  }
}

/** The backend packages registered so far. */
export function loadedBackends(): readonly BackendPackage[] {
  requireArity('loadedBackends', arguments, 0);
  return [...loaded];
}

await autoloadBackends();

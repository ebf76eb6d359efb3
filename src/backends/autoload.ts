import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { invalidValue } from '../errors/errors.js';
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

function backendOf(dir: string): BackendPackage | undefined {
  const file = join(dir, 'package.json');
  if (!existsSync(file)) return undefined;
  let json: { name?: unknown; openreg?: { backend?: unknown } };
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
  const entry = json.openreg?.backend;
  if (typeof entry !== 'string') return undefined;
  return { name: typeof json.name === 'string' ? json.name : dir, dir, entry: resolve(dir, entry) };
}

/** Backend packages: openreg's own, then those in node_modules folders from `from` up. */
export function discoverBackends(from = process.cwd()): BackendPackage[] {
  const own = backendOf(fileURLToPath(new URL('../../../', import.meta.url)));
  const found: BackendPackage[] = own === undefined ? [] : [own];
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const modules = join(dir, 'node_modules');
    if (existsSync(modules)) {
      for (const name of readdirSync(modules)) {
        const dirs = name.startsWith('@') ? readdirSync(join(modules, name)).map((n) => join(modules, name, n)) : [join(modules, name)];
        for (const d of dirs) {
          const pkg = backendOf(d);
          if (pkg !== undefined && !found.some((f) => f.entry === pkg.entry || f.name === pkg.name)) found.push(pkg);
        }
      }
    }
    if (dirname(dir) === dir) break;
  }
  return found;
}

/** Imports a backend package's entry and calls its `register(api)`. */
async function registerPackage(pkg: BackendPackage): Promise<void> {
  const mod = (await import(pathToFileURL(pkg.entry).href)) as { register?: (api: typeof backendApi) => unknown };
  if (typeof mod.register !== 'function') throw new TypeError(`${pkg.entry} exports no register(api) function`);
  await mod.register(backendApi);
  loaded.push(pkg);
}

/** Registers every discovered backend; one that fails is a warning naming its package, and the others still load. */
export async function autoloadBackends(): Promise<void> {
  if (process.env.OPENREG_DEVICE_BACKEND_AUTOLOAD === '0') return;
  for (const pkg of discoverBackends()) {
    try {
      await registerPackage(pkg);
    } catch (error) {
      process.emitWarning(`openreg: the device backend of package ${pkg.name} failed to load and was skipped: ${error instanceof Error ? error.message : String(error)}`, {
        code: 'OPENREG_BACKEND_LOAD',
      });
    }
  }
}

/** Registers the backend package in folder `dir` (for when autoload is off); its errors are thrown. */
export async function loadBackend(dir: string): Promise<BackendPackage> {
  const pkg = typeof dir === 'string' ? backendOf(resolve(dir)) : undefined;
  if (pkg === undefined) throw invalidValue('loadBackend', 'dir must be a package folder whose package.json has openreg.backend', dir);
  if (!loaded.some((l) => l.entry === pkg.entry)) await registerPackage(pkg);
  return pkg;
}

/** The backend packages registered so far. */
export function loadedBackends(): readonly BackendPackage[] {
  return [...loaded];
}

await autoloadBackends();

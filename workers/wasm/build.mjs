// Builds the wasm SIMD kernels (AssemblyScript, workers/wasm/index.ts) into
// dist/workers/wasm/kernels.wasm, part of `npm run build`. The module imports the device's
// memory and must not place data of its own in it: a data segment would overwrite device memory
// at instantiation, so one fails the build.
import asc from 'assemblyscript/asc';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const out = here('../../dist/workers/wasm/kernels.wasm');
const { error, stderr } = await asc.main([
  here('./index.ts'), '--outFile', out,
  '-O3', '--runtime', 'stub', '--noAssert', '--use', 'abort=',
  '--importMemory', '--sharedMemory', '--initialMemory', '0', '--maximumMemory', '65536',
  '--enable', 'simd', '--enable', 'threads',
]);
if (error) {
  console.error(stderr.toString());
  throw error;
}

/** The ids of a wasm binary's sections. */
function sectionIds(bytes) {
  const ids = [];
  let at = 8;
  while (at < bytes.length) {
    ids.push(bytes[at++]);
    let size = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bytes[at++];
      size |= (b & 0x7f) << shift;
      if (b < 0x80) break;
    }
    at += size;
  }
  return ids;
}
const DATA = 11;
if (sectionIds(readFileSync(out)).includes(DATA)) throw new Error(`${out} has a data segment: it would overwrite device memory (avoid std library tables such as Math.log's)`);

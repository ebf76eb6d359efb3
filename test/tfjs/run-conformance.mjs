/**
 * Runs tfjs-core's conformance suite (4,232 jasmine specs at 4.22.0) against the `openreg`
 * backend. The specs are bundled with esbuild (--ignore-annotations: tfjs-core's `sideEffects`
 * list would otherwise drop the test files); openreg/tfjs is loaded from dist/, unbundled, so
 * its device workers start from their compiled files, and it registers the backend with the
 * engine both copies of tfjs-core share. Fails on a failure not in expected-failures.json, and
 * on a listed spec that now passes.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import Jasmine from 'jasmine';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const out = join(root, 'dist', 'tfjs-conformance');
mkdirSync(out, { recursive: true });
const bundle = join(out, 'specs.cjs');
await build({ entryPoints: [join(here, 'conformance-entry.mjs')], bundle: true, platform: 'node', ignoreAnnotations: true, outfile: bundle, logLevel: 'error' });

const { registerOpenRegBackends } = await import(join(root, 'dist', 'src', 'tfjs.js'));
const coverage = registerOpenRegBackends();
const expected = JSON.parse(readFileSync(join(here, 'expected-failures.json'), 'utf8'));

const failed = new Map();
let specs = 0;
let pending = 0;
const jasmine = new Jasmine({ projectBaseDir: root });
jasmine.loadConfig({ spec_files: [bundle], random: false });
jasmine.exitOnCompletion = false;
jasmine.env.clearReporters();
jasmine.env.addReporter({
  specDone: (r) => {
    specs++;
    if (r.status === 'pending' || r.status === 'excluded') pending++;
    if (r.status === 'failed') failed.set(r.fullName, r.failedExpectations.map((e) => (process.env.TFJS_STACKS ? e.stack : e.message.split('\n')[0])).join(' | '));
  },
});
const started = performance.now();
await jasmine.execute();
const seconds = ((performance.now() - started) / 1000).toFixed(1);

const unexpected = [...failed.keys()].filter((name) => !(name in expected));
const fixed = Object.keys(expected).filter((name) => !failed.has(name));
const passed = specs - failed.size - pending;
const summary = {
  specs,
  passed,
  failed: failed.size,
  pending,
  passRate: passed / (specs - pending),
  nativeKernels: coverage.native.length,
  fallbackKernels: coverage.fallback.length,
  seconds: Number(seconds),
};
writeFileSync(join(out, 'results.json'), `${JSON.stringify({ ...summary, failures: Object.fromEntries(failed) }, null, 2)}\n`);
console.log(`tfjs-core conformance on openreg: ${specs} specs, ${passed} passed, ${failed.size} failed (${Object.keys(expected).length} expected), ${pending} pending, in ${seconds} s`);
console.log(`kernels: ${coverage.native.length} native, ${coverage.fallback.length} through the CPU fallback`);
for (const name of unexpected) console.log(`NEW FAILURE: ${name}\n  ${failed.get(name)}`);
for (const name of fixed) console.log(`NOW PASSES (remove it from expected-failures.json): ${name}`);
process.exitCode = unexpected.length > 0 || fixed.length > 0 ? 1 : 0;
// Unref'd device workers and pools let the process end; nothing waits for them.

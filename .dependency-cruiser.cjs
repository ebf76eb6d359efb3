// The layers of openreg, bottom to top. A module may import its own layer and the layers
// below it, never one above (README, "Architecture"). `npm test` runs this (lint:layers).
const LAYERS = [
  'src/errors',
  'src/protocol',
  'src/memory',
  'src/device',
  'src/runtime',
  'src/integration',
  'src/api',
  // Room for the framework half: each of these may import anything below `src/api`'s floor.
  '(src/tensor|src/dispatch|src/ops|src/serialization|src/backends|src/testing|src/sanitizer|src/collectives)',
  // Training, built on the framework half: modules and losses, then optimizers.
  'src/nn',
  'src/optim',
  // Adapters to other frameworks, on top of everything: TensorFlow.js's backend (openreg/tfjs).
  'src/tfjs',
];

const escape = (layer) => `^${layer}/`;

/** One rule per layer: nothing in it imports a layer above it. */
const layerRules = LAYERS.slice(0, -1).map((layer, i) => ({
  name: `${layer.replace('src/', '')}-points-down`,
  comment: `${layer} may import only itself and the layers below it (${LAYERS.slice(0, i).join(', ') || 'none'}).`,
  severity: 'error',
  from: { path: escape(layer) },
  to: { path: LAYERS.slice(i + 1).map(escape) },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import cycles, type-only imports included: layers are a tree, not a knot.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...layerRules,
    {
      name: 'index-exports-only-reach-down',
      comment: 'Nothing below the entry points imports them (src/index.ts and other top-level entry files).',
      severity: 'error',
      from: { path: '^src/.+/' },
      to: { path: '^src/[^/]+\\.ts$' },
    },
    {
      name: 'workers-import-only-the-shared-floors',
      comment: 'Device workers load only errors/, protocol/ and memory/ (the formats both threads share) and their own folder.',
      severity: 'error',
      from: { path: '^workers/' },
      to: { path: '^src/', pathNot: '^src/(errors|protocol|memory)/' },
    },
    {
      name: 'src-does-not-import-outside',
      comment: 'The library does not import its workers, tests, benchmarks or examples (workers are started by URL, not imported).',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(workers|test|bench|examples)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Count `import type` edges too: a type cycle is still a cycle.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'types', 'node', 'default'], extensions: ['.ts', '.js', '.mjs', '.d.ts'] },
  },
};

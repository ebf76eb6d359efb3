import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Each file starts device workers of its own: two files at a time on a 2-core machine.
    maxWorkers: 2,
    testTimeout: 20_000,
    hookTimeout: 20_000,
    teardownTimeout: 10_000,
    // The JSON report gives CI a plain "N passed, N failed" line (see .ci/run).
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results.json' },
  },
});

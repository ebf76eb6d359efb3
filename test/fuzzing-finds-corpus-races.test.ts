import { describe, expect, it } from 'vitest';
import type { KernelModule, Runtime } from '../dist/src/index.js';
import { forEachSeed } from '../dist/src/testing/vitest.js';
import { CORRECT, RACY, runChecked, streamsFor } from './corpus/stream-programs.js';
import { useRuntime } from './helpers.js';

// With the sanitizer off, schedule fuzzing makes every racy program of the corpus compute a
// wrong result (or fail on its device) within 32 seeds, and no correct one.
let rt: Runtime;
let k: KernelModule;
useRuntime({ deviceCount: 2, deviceMemoryBytes: 128 << 20 }, (r, m) => {
  rt = r;
  k = m;
});

const run = (program: (typeof RACY)[string]) => (seed: number) => rt.setSchedule({ seed, maxDelayUs: 300 }).then(() => runChecked(streamsFor(rt, k), program));

describe('schedule fuzzing over the corpus', () => {
  it.each(Object.entries(RACY))('fails within 32 seeds: %s', { timeout: 60_000 }, async (_name, program) => {
    await expect(forEachSeed(32, run(program))).rejects.toThrow(/failed with schedule seed \d+/);
  });

  it.each(Object.entries(CORRECT))('passes 8 seeds: %s', { timeout: 60_000 }, async (_name, program) => {
    await forEachSeed(8, run(program));
  });
});

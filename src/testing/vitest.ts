import { test as base } from 'vitest';
import { Runtime } from '../api/runtime.js';
import { ErrorCode } from '../errors/error-code.js';
import { OpenRegError } from '../errors/openreg-error.js';
import type { RuntimeOptions } from '../runtime/options.js';

/** `openreg/vitest`: a runtime per test, closed with a bounded timeout, and a sanitizer report failing the test. */
export interface OpenRegFixtures {
  rt: Runtime;
}

export interface OpenRegTestOptions extends RuntimeOptions {
  /** How long closing the test's runtime may wait for its work. @default 10000 */
  closeTimeoutMs?: number;
}

/**
 * A vitest `test` whose tests each get a fresh runtime, as `rt` when they name it
 * (`test('…', async ({ rt }) => …)`) and as the one `openreg` devices mean either way,
 * created with `options` (per file: call this once at the top of it). After the test, a
 * report the stream sanitizer collected fails it, and the runtime is closed (forcibly after
 * `closeTimeoutMs`).
 */
export function openregTest(options: OpenRegTestOptions = {}) {
  const { closeTimeoutMs = 10_000, ...runtimeOptions } = options;
  return base.extend<OpenRegFixtures>({
    // `auto`: every test gets its runtime, named or not (openreg devices then mean it, not a lazily started one).
    // The empty pattern is vitest's: it reads which fixtures a fixture function destructures.
    rt: [
      async ({}, use) => {
      const rt = await Runtime.create(runtimeOptions);
      try {
        await use(rt);
        const reports = rt.sanitizer.reports();
        if (reports.length > 0) {
          throw new OpenRegError(ErrorCode.DATA_RACE, `the stream sanitizer reported ${reports.length} data race(s):\n${reports.map((r) => r.message).join('\n')}`);
        }
      } finally {
        await rt.close({ timeoutMs: closeTimeoutMs }).catch(() => rt.close({ force: true }));
      }
      },
      { auto: true },
    ],
  });
}

/** A `test` with default runtime options. */
export const test = openregTest();

/** Also exported from `openreg` itself: it needs no test framework. */
export { forEachSeed } from './schedule-seeds.js';

import { expect, it } from 'vitest';
import { OpenRegError } from '../dist/src/index.js';

/** One row of a bad-input table: the public call, the code it must fail with, and the bad call itself. */
export type BadCall = readonly [call: string, code: string, fn: () => unknown];

/**
 * Registers one test per row: the call fails with an OpenRegError of `code` whose message
 * starts with `call:`. Calls named in `promised` return a Promise: they must reject, never
 * throw at the call.
 */
export function testBadCalls(rows: readonly BadCall[], promised: ReadonlySet<string> = new Set()): void {
  it.each(rows.map(([call, code, fn], i) => ({ i, call, code, fn })))('#$i: $call refuses bad input with $code naming the call', async ({ call, code, fn }) => {
    let caught: unknown;
    let result: unknown;
    let threw = false;
    try {
      result = fn();
    } catch (error) {
      caught = error;
      threw = true;
    }
    if (promised.has(call)) {
      expect(threw, `${call} threw at the call: ${String(caught)}`).toBe(false);
      expect(result).toBeInstanceOf(Promise);
      caught = await (result as Promise<unknown>).then(
        () => undefined,
        (error: unknown) => error,
      );
    }
    expect(caught, `${call} accepted the input`).toBeInstanceOf(OpenRegError);
    expect((caught as OpenRegError).code).toBe(code);
    expect((caught as OpenRegError).message.startsWith(`${call}: `), (caught as Error).message).toBe(true);
  });
}

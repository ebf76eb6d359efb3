import { describe, expect, it } from 'vitest';
import { rejectedFlags, withoutFlags, workerExecArgv } from '../../src/device/worker-start.js';

describe("the device workers' Node options", () => {
  it('drop what only the main script can take', () => {
    expect(workerExecArgv(['--input-type=module', '-e', 'code', '--no-warnings', '--eval=x', '-p', 'y', '--enable-source-maps'])).toEqual([
      '--no-warnings',
      '--enable-source-maps',
    ]);
  });

  it("drop the flags Node's worker constructor names as invalid, with their separate values", () => {
    const flags = rejectedFlags('Initiated Worker with invalid execArgv flags: --expose-gc, --max-old-space-size=100, --stack-size');
    expect(flags).toEqual(['--expose-gc', '--max-old-space-size=100', '--stack-size']);
    expect(withoutFlags(['--no-warnings', '--expose-gc', '--max-old-space-size=100', '--stack-size', '900', '--trace-warnings'], flags)).toEqual([
      '--no-warnings',
      '--trace-warnings',
    ]);
  });
});

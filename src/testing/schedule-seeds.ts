import { requireFunction, requireInteger, requireOptions } from '../errors/validate.js';

const CALL = 'forEachSeed';

/**
 * Runs `body` once per schedule seed (`firstSeed`, `firstSeed + 1`, …): pass the seed to
 * `Runtime.create({ schedule: { seed } })`. The first failure is rethrown naming its seed, which
 * reproduces the interleaving. Needs no test framework.
 */
export async function forEachSeed(count: number, body: (seed: number) => unknown, options: { firstSeed?: number } = {}): Promise<void> {
  requireInteger(CALL, 'count', count, 0);
  requireFunction(CALL, 'body', body);
  const o = requireOptions<{ firstSeed: number }>(CALL, options, 'options', ['firstSeed']);
  const first = o.firstSeed === undefined ? 0 : requireInteger(CALL, 'options.firstSeed', o.firstSeed, 0, 0xffff_ffff - count);
  for (let seed = first; seed < first + count; seed++) {
    try {
      await body(seed);
    } catch (error) {
      throw new Error(`failed with schedule seed ${seed}: rerun it with Runtime.create({ schedule: { seed: ${seed} } })`, { cause: error });
    }
  }
}

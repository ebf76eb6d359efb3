import { describe, expect, it } from 'vitest';
import { AutocastGuard, type Runtime, type Tensor, autocast, getAutocastDtype, isAutocastEnabled, randn } from '../dist/src/index.js';
import { useTensorRuntime } from './helpers.js';

// AutocastGuard acts on its own async context only and restores exactly what it replaced,
// whatever the order guards are disposed in (issue 15, item 8).
let rt: Runtime;
useTensorRuntime({ deviceCount: 1 }, (r) => (rt = r));

/** A promise and the function that resolves it: the steps of a choreography between async functions. */
function latch(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

/** What the calling context has in force: the query functions and what an op actually does. */
function seen(x: Tensor): string {
  return isAutocastEnabled('openreg') ? `${getAutocastDtype('openreg')}/${x.mm(x).dtype}` : `off/${x.mm(x).dtype}`;
}

describe('AutocastGuard in concurrent async functions', () => {
  it('guards made after an await see only their own dtype, and are off once disposed, in either disposal order', async () => {
    const x = randn([2, 2], { device: 'openreg' });
    for (const firstOut of ['a', 'b'] as const) {
      const log: string[] = [];
      const aMade = latch();
      const bMade = latch();
      const firstDisposed = latch();
      const task = async (name: 'a' | 'b', dtype: 'float16' | 'bfloat16', made: () => void, otherMade: Promise<void>) => {
        await null;
        {
          using guard = new AutocastGuard({ dtype });
          void guard;
          made();
          await otherMade; // both guards are live from here on
          log.push(`${name} live: ${seen(x)}`);
          if (name !== firstOut) await firstDisposed.wait;
        }
        log.push(`${name} disposed: ${seen(x)}`);
        if (name === firstOut) firstDisposed.open();
        await null;
        log.push(`${name} after an await: ${seen(x)}`);
      };
      await Promise.all([task('a', 'bfloat16', aMade.open, bMade.wait), task('b', 'float16', bMade.open, aMade.wait)]);
      expect(log.sort()).toEqual([
        'a after an await: off/float32',
        'a disposed: off/float32',
        'a live: bfloat16/bfloat16',
        'b after an await: off/float32',
        'b disposed: off/float32',
        'b live: float16/float16',
      ]);
      expect(seen(x)).toBe('off/float32');
    }
  });

  it('an async function without a guard never sees a guard made in another one', async () => {
    const x = randn([2, 2], { device: 'openreg' });
    const made = latch();
    const looked = latch();
    const observations: string[] = [];
    await Promise.all([
      (async () => {
        await null;
        using guard = new AutocastGuard({ dtype: 'bfloat16' });
        void guard;
        made.open();
        await looked.wait;
      })(),
      (async () => {
        await made.wait;
        observations.push(seen(x));
        looked.open();
      })(),
    ]);
    expect(observations).toEqual(['off/float32']);
  });

  it('guards made before the first await and disposed first-made-first leave autocast off everywhere', async () => {
    const x = randn([2, 2], { device: 'openreg' });
    const log: string[] = [];
    const aDisposed = latch();
    const a = async () => {
      {
        using guard = new AutocastGuard({ dtype: 'bfloat16' });
        void guard;
        await null;
        log.push(`a live: ${seen(x)}`);
      }
      aDisposed.open();
      log.push(`a disposed: ${seen(x)}`);
    };
    const b = async () => {
      {
        using guard = new AutocastGuard({ dtype: 'float16' });
        void guard;
        await aDisposed.wait;
        log.push(`b live: ${seen(x)}`);
      }
      log.push(`b disposed: ${seen(x)}`);
    };
    await Promise.all([a(), b()]);
    expect(log).toEqual(['a live: bfloat16/bfloat16', 'a disposed: off/float32', 'b live: float16/float16', 'b disposed: off/float32']);
    // The caller's context, and a function started later, see nothing left behind.
    expect(seen(x)).toBe('off/float32');
    expect(await (async () => (await null, seen(x)))()).toBe('off/float32');
  });
});

describe('AutocastGuard in one context', () => {
  it('nested guards disposed out of order: the one still live stays in force, then what was there before comes back', () => {
    const x = randn([2, 2], { device: 'openreg' });
    const outer = new AutocastGuard({ dtype: 'bfloat16' });
    const inner = new AutocastGuard({ dtype: 'float16' });
    expect(seen(x)).toBe('float16/float16');
    outer[Symbol.dispose]();
    expect(seen(x)).toBe('float16/float16');
    inner[Symbol.dispose]();
    expect(seen(x)).toBe('off/float32');
    inner[Symbol.dispose](); // a second dispose changes nothing
    expect(seen(x)).toBe('off/float32');
  });

  it('a guard inside an autocast scope restores that scope, and a disabling guard turns it off for its block only', async () => {
    const x = randn([2, 2], { device: 'openreg' });
    const log = await autocast({ dtype: 'bfloat16' }, async () => {
      const out: string[] = [];
      {
        using guard = new AutocastGuard({ dtype: 'float16' });
        void guard;
        await null;
        out.push(seen(x));
        {
          using off = new AutocastGuard({ enabled: false });
          void off;
          out.push(seen(x));
        }
        out.push(seen(x));
      }
      out.push(seen(x));
      return out;
    });
    expect(log).toEqual(['float16/float16', 'off/float32', 'float16/float16', 'bfloat16/bfloat16']);
    expect(seen(x)).toBe('off/float32');
  });
});

describe('the cast cache', () => {
  it('cacheEnabled: false casts a leaf again for every op, as cache_enabled=False does', () => {
    const w = randn([4, 4], { device: 'openreg' });
    const casts = (options: { cacheEnabled?: boolean }) => {
      let count = 0;
      const stop = rt.observe({ kernelLaunch: (e) => void (e.kernel === 'tensorUnary' && count++) });
      autocast(options, () => {
        w.mm(w);
        w.mm(w);
      });
      stop();
      return count;
    };
    expect(casts({})).toBe(1);
    expect(casts({ cacheEnabled: false })).toBe(4); // both arguments of both ops
  });
});

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const runner = fileURLToPath(new URL('../dist/bench/run.js', import.meta.url));

describe('npm run bench', () => {
  it('prints the suites with their baselines and ratios, and writes every figure with --json', () => {
    const dir = mkdtempSync(join(tmpdir(), 'openreg-bench-'));
    try {
      const json = join(dir, 'bench.json');
      const r = spawnSync(process.execPath, [runner, '--only', 'sync-latency,allocation', '--time', '60', '--json', json], {
        encoding: 'utf8',
        timeout: 90_000,
      });
      expect(r.error).toBeUndefined();
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain('## Synchronization latency');
      expect(r.stdout).toContain('× faster than piscina.run()');
      expect(r.stdout).toContain('## Targets');
      const report = JSON.parse(readFileSync(json, 'utf8'));
      expect(report.machine.cpus).toBeGreaterThan(0);
      const names = report.rows.map((row: { name: string }) => row.name);
      expect(names).toEqual(expect.arrayContaining(['openreg: launch + streamSynchronizeSync', 'piscina.run()', 'comlink call', 'postMessage round trip', 'bare Atomics ring: push + wait']));
      for (const row of report.rows) {
        expect(row.p50Us).toBeGreaterThan(0);
        expect(row.opsPerSecond).toBeGreaterThan(0);
      }
      const sync = report.rows.find((row: { name: string }) => row.name === 'openreg: launch + streamSynchronizeSync');
      expect(sync.ratio.vs).toBe('piscina.run()');
      expect(report.targets.map((t: { target: string }) => t.target)).toContain('eventQuery ≤ 0.2 µs');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

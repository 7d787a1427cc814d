import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// The benchmark suite in its seconds-long smoke mode, so it cannot rot. Its numbers are not asserted.
describe('bench smoke', () => {
  it('runs every load against every front and prints the tables', { timeout: 120_000 }, async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['bench/run.ts', '--smoke'], { maxBuffer: 1 << 20 });
    for (const load of ['keep-alive HTTP', 'new connections', 'bulk download, 2 streams', 'bulk upload, 2 streams']) {
      for (const front of ['direct', 'node pipe', 'portwarden']) expect(stdout).toMatch(new RegExp(`\\| ${load} \\| ${front} \\| \\d+`));
    }
    // latency with sub-millisecond resolution, and RSS of fresh processes
    expect(stdout).toMatch(/\| portwarden \| \d+\.\d{3} \| \d+\.\d{3} \| -?\d+\.\d{3} \|/);
    expect(stdout).toMatch(/\| portwarden \| \d+\.\d \| \d+\.\d \| \d+% \|/);
    expect(stdout).toMatch(/\| decide\(\) with a 32-entry allow list \| \d+ ns\/op \|/);
    expect(stdout).toMatch(/\| revoke -> applied by every loop \| \d+ \| \d+ \| \d+ \|/);
    // the control load counts, per watcher, the answers each change brought
    expect(stdout).toMatch(/\| one authority \| loops revoke \| \d+ \| \d+ \| \d+ \| \d+ \|/);
    // a real client through every front, where PostgreSQL is installed (the skip line says so where not)
    if (stdout.includes('skipped: ') && stdout.includes('pgbench load (')) return;
    for (const load of ['pgbench -S', 'pgbench -S -C']) {
      for (const front of ['direct', 'node pipe', 'portwarden']) expect(stdout).toMatch(new RegExp(`\\| ${load} \\| ${front} \\| \\d+ tps`));
    }
  });
});

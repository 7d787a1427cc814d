import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../../src/shared/clock.ts';
import { createLogger } from '../../../../src/shared/logger.ts';
import { LastKnownGood, type LastKnownGoodSnapshot } from '../../../../src/sidecar/licenses/last-known-good.ts';
import { createSidecarMetrics } from '../../../../src/sidecar/admin/metrics.ts';
import { tempDir } from '../../../helpers/tmp.ts';

const snapshot: LastKnownGoodSnapshot = {
  jwks: { keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'abc', kid: 'k1' }] },
  licenses: [{ port: 'api', lid: 'l1', token: 'a.b.c' }],
  revoked: ['l0'],
};

async function setup() {
  const dir = join(await tempDir(), 'cache');
  const lines: { level: string; msg: string }[] = [];
  const logger = createLogger({ destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
  const metrics = createSidecarMetrics(new Registry(), { processDefaults: false });
  const lkg = new LastKnownGood({ dir, service: 'payments', clock: new ManualClock(), logger, metrics });
  const corrupt = async () => (await metrics.licenseRejectedTotal.get()).values.find((v) => v.labels.reason === 'cache_corrupt')?.value ?? 0;
  return { dir, lines, lkg, corrupt };
}

describe('LastKnownGood', () => {
  it('writes atomically, readable only by its owner, and reads back what it wrote', async () => {
    const { dir, lkg } = await setup();
    expect(await lkg.load()).toBeUndefined();
    await Promise.all([lkg.save({ ...snapshot, revoked: [] }), lkg.save(snapshot)]);
    await lkg.close();
    expect(await lkg.load()).toEqual(snapshot);
    expect((await stat(lkg.file)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['licenses-payments.json']); // no temp file left behind
  });

  it('ignores a truncated or corrupt file with a warning, and counts it', async () => {
    const { lines, lkg, corrupt } = await setup();
    await lkg.save(snapshot);
    const text = await readFile(lkg.file, 'utf8');
    await writeFile(lkg.file, text.slice(0, text.length / 2));
    expect(await lkg.load()).toBeUndefined();
    await writeFile(lkg.file, JSON.stringify({ version: 1, service: 'payments', licenses: 'nope' }));
    expect(await lkg.load()).toBeUndefined();
    expect(await corrupt()).toBe(2);
    expect(lines.filter((line) => line.level === 'warn' && /last-known-good/.test(line.msg))).toHaveLength(2);
  });
});

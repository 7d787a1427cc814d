import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { expect, it, onTestFinished } from 'vitest';
import type { Clock } from '../../src/shared/clock.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { LicenseSync } from '../../src/sidecar/licenses/sync.ts';
import { createSidecarMetrics } from '../../src/sidecar/admin/metrics.ts';
import { issueBody, startTestAuthority } from '../helpers/authority.ts';
import { tempDir } from '../helpers/tmp.ts';
import { waitFor } from '../helpers/wait.ts';

/** A real LicenseSync for `service`, holding `token`, against the real authority; its logs parsed. */
async function startSync(url: string, service: string, token: string, clock: Clock) {
  const dir = await tempDir();
  const tokenFile = join(dir, 'sidecar.token');
  await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
  const lines: string[] = [];
  const metrics = createSidecarMetrics(new Registry(), { processDefaults: false });
  const sync = new LicenseSync({
    service,
    authority: { url, issuer: 'portwarden-authority', token_file: tokenFile, refresh: 60_000, cache_dir: join(dir, 'cache'), clock_tolerance: 30_000 },
    ports: [{ name: 'api', listenPort: 8443 }],
    logger: createLogger({ level: 'trace', destination: { write: (line: string) => void lines.push(line) } }),
    metrics,
    clock,
  });
  onTestFinished(() => sync.close());
  await sync.start();
  return { sync, lines, metrics };
}

it('refuses a sidecar token for another service through the sidecar, and no token or key reaches a log line', async () => {
  const authority = await startTestAuthority({ adminToken: null });
  const adminToken = (await readFile(join(authority.dataDir, 'admin.token'), 'utf8')).trim();
  const created = await authority.api('POST', '/v1/tokens', { token: adminToken, body: { role: 'sidecar', service: 'payments' } });
  expect(created.status).toBe(201);
  const sidecarToken = created.body.token as string;
  const issued = await authority.api('POST', '/v1/licenses', { token: adminToken, body: issueBody({ ttl: '24h' }) });
  const licenseToken = issued.body.token as string;

  // the payments token reads its own service: the license arrives
  const own = await startSync(authority.url, 'payments', sidecarToken, authority.clock);
  await waitFor(() => own.sync.get('api')?.claims.lid === issued.body.lid, { what: 'the license to arrive' });

  // a sidecar of another service configured with that token is refused by the authority
  const other = await startSync(authority.url, 'billing', sidecarToken, authority.clock);
  await waitFor(async () => ((await other.metrics.registry.getSingleMetricAsString('portwarden_authority_sync_total')).match(/result="error"} [1-9]/)), {
    what: 'a failed sync',
  });
  expect(other.sync.authorityReachable).toBe(false);
  expect(other.sync.get('api')).toBeUndefined();
  expect(other.lines.map((line) => JSON.parse(line) as Record<string, unknown>).some((line) => line.code === 'forbidden')).toBe(true);

  // nothing secret in any log line of either side
  const everything = [...own.lines, ...other.lines, ...authority.logs.map((line) => JSON.stringify(line))].join('\n');
  for (const secret of [adminToken, sidecarToken, sidecarToken.split('.')[2]!, licenseToken]) expect(everything).not.toContain(secret);
});

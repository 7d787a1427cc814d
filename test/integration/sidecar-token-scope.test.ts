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

it('counts telemetry and inventory only for the token’s own service, and refuses a report naming another', async () => {
  const authority = await startTestAuthority();
  const billing = (await authority.api('POST', '/v1/tokens', { body: { role: 'sidecar', service: 'billing' } })).body.token as string;
  const at = new Date(authority.clock.now()).toISOString();
  const records = [{ port: 'api', identity: 'spiffe://corp/x', origin: '10.0.0.7', count: 5, last_access: at }];
  const callers = (service: string) => authority.authority.context.store.read((tx) => tx.access.callers({ service, limit: 10 }));

  // a batch naming payments, posted with billing's token: refused, nothing counted anywhere
  const forged = await authority.api('POST', '/v1/telemetry', { token: billing, body: { batch_id: 't-1', service: 'payments', sent_at: at, records } });
  expect([forged.status, forged.body.error.code]).toEqual([403, 'forbidden']);
  expect(await callers('payments')).toEqual([]);
  expect(await callers('billing')).toEqual([]);

  // the same records without a service count for billing: a record names a port, never a service
  const own = await authority.api('POST', '/v1/telemetry', { token: billing, body: { batch_id: 't-2', sent_at: at, records } });
  expect(own.body).toMatchObject({ service: 'billing', applied: true, records: 1 });
  expect(await callers('payments')).toEqual([]);
  expect((await callers('billing')).map((c) => [c.service, c.port, c.count])).toEqual([['billing', 'api', 5]]);
  // and a payments license's last access is not raised by billing's report
  const license = (await authority.api('POST', '/v1/licenses', { body: issueBody({ ttl: '24h' }) })).body;
  await authority.api('POST', '/v1/telemetry', { token: billing, body: { batch_id: 't-3', sent_at: at, records: [{ ...records[0], port: 8443 }] } });
  expect((await authority.authority.context.store.read((tx) => tx.licenses.get(license.lid)))?.lastAccessAt).toBeNull();

  // inventory: the same rule
  const listeners = [{ protocol: 'tcp', address: '0.0.0.0', port: 31_000 }];
  const forgedInventory = await authority.api('POST', '/v1/inventory', { token: billing, body: { service: 'payments', listeners } });
  expect([forgedInventory.status, forgedInventory.body.error.code]).toEqual([403, 'forbidden']);
  expect((await authority.api('POST', '/v1/inventory', { token: billing, body: { listeners } })).body.service).toBe('billing');
  const unregistered = async (service: string) => (await authority.api('GET', `/v1/inventory/unregistered?service=${service}`)).body.unregistered as { service: string }[];
  expect(await unregistered('payments')).toEqual([]);
  expect((await unregistered('billing')).map((l) => l.service)).toEqual(['billing']);
});

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { expect, it, onTestFinished } from 'vitest';
import { createLogger } from '../../src/shared/logger.ts';
import { decide } from '../../src/sidecar/proxy/decide.ts';
import { LicenseSync } from '../../src/sidecar/licenses/sync.ts';
import { createSidecarMetrics } from '../../src/sidecar/admin/metrics.ts';
import { issueBody, startTestAuthority } from '../helpers/authority.ts';
import { tempDir } from '../helpers/tmp.ts';
import { waitFor } from '../helpers/wait.ts';

const caller = 'spiffe://corp/ns/billing/sa/api';

it('syncs issue, renewal and revocation from the real authority through its API', async () => {
  const authority = await startTestAuthority();
  const { clock } = authority;
  const dir = await tempDir('portwarden-sync-');
  const token = await authority.api('POST', '/v1/tokens', { body: { role: 'sidecar', service: 'payments' } });
  expect(token.status).toBe(201);
  const tokenFile = join(dir, 'sidecar.token');
  await writeFile(tokenFile, token.body.token as string, { mode: 0o600 });

  const sync = new LicenseSync({
    service: 'payments',
    authority: { url: authority.url, issuer: 'portwarden-authority', token_file: tokenFile, refresh: 300_000, cache_dir: join(dir, 'cache'), clock_tolerance: 0 },
    ports: [{ name: 'api', listenPort: 8443 }],
    clock,
    logger: createLogger({ level: 'silent' }),
    metrics: createSidecarMetrics(new Registry(), { processDefaults: false }),
  });
  onTestFinished(() => sync.close());
  await sync.start();
  await waitFor(() => sync.authorityReachable, { what: 'the first sync' });
  expect(sync.status('api').health).toBe('missing');

  const issued = await authority.api('POST', '/v1/licenses', { body: issueBody() });
  expect(issued.status).toBe(201);
  const lid = issued.body.lid as string;
  await waitFor(() => sync.get('api')?.claims.lid === lid, { what: 'the issued license' });
  expect(decide(sync.get('api'), caller, { now: clock.now(), clockToleranceMs: 0, expiryGraceMs: 0, authorityReachable: true })).toEqual({ allow: true });

  const before = sync.get('api')!;
  clock.advance(60_000);
  expect((await authority.api('POST', `/v1/licenses/${lid}/renew`, { body: {} })).status).toBe(200);
  await waitFor(() => sync.get('api')?.claims.jti !== before.claims.jti, { what: 'the renewed token' });
  expect(sync.get('api')).toMatchObject({ revoked: false, claims: { lid } });
  expect(sync.get('api')!.expMs).toBeGreaterThan(before.expMs);

  expect((await authority.api('POST', `/v1/licenses/${lid}/revoke`, { body: {} })).status).toBe(200);
  await waitFor(() => sync.get('api')?.revoked, { what: 'the revocation' });
  expect(sync.status('api').health).toBe('missing');
});

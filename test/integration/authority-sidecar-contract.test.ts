import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { expect, it, onTestFinished } from 'vitest';
import { AuthorityClient } from '../../src/sidecar/authority/client.ts';
import { verifyLicense } from '../../src/sidecar/licenses/verifier.ts';
import { toBatches } from '../../src/sidecar/telemetry/batch.ts';
import { issueBody, startTestAuthority } from '../helpers/authority.ts';
import { tempDir } from '../helpers/tmp.ts';

it("serves what the sidecar's own client and verifier accept", async () => {
  const t = await startTestAuthority();
  const license = (await t.api('POST', '/v1/licenses', { body: issueBody() })).body;
  const tokenFile = join(await tempDir(), 'sidecar.token');
  await writeFile(tokenFile, `${(await t.api('POST', '/v1/tokens', { body: { role: 'sidecar', service: 'payments' } })).body.token}\n`);
  const client = new AuthorityClient({ url: t.url, tokenFile });
  onTestFinished(() => client.close());
  const signal = new AbortController().signal;

  const listing = await client.pollLicenses({ service: 'payments', index: 0, waitMs: 1_000, signal });
  expect(listing.licenses.map((l) => l.lid)).toEqual([license.lid]);
  const keys = createLocalJWKSet((await client.fetchJwks(signal)) as JSONWebKeySet);
  const target = { service: 'payments', ports: new Map([['api', 8443]]), issuer: 'portwarden-authority', clockToleranceMs: 30_000 };
  const verdict = await verifyLicense(listing.licenses[0]?.token ?? '', keys, target, t.clock);
  expect(verdict).toMatchObject({ ok: true, portName: 'api' });

  // a telemetry batch as the sidecar cuts it marks the license in use
  const at = t.clock.now();
  const [batch] = toBatches(
    [{ port: 'api', identity: 'spiffe://corp/ns/ops/sa/a', origin: '10.0.0.1', count: 2, bytesIn: 10, bytesOut: 20, firstAccess: at, lastAccess: at, decision: 'allow', reason: null }],
    { service: 'payments', now: at },
  );
  const posted = await t.api('POST', '/v1/telemetry', { body: batch, token: (await readFile(tokenFile, 'utf8')).trim() });
  expect(posted.body).toMatchObject({ applied: true, records: 1 });
  expect((await t.api('GET', `/v1/licenses/${license.lid}`)).body.last_access_at).toBe(new Date(at).toISOString());

  await t.api('POST', `/v1/licenses/${license.lid}/revoke`);
  const next = await client.pollLicenses({ service: 'payments', index: listing.index, waitMs: 1_000, signal });
  expect(next).toEqual({ index: listing.index + 1, licenses: [], revoked: [license.lid] });
});

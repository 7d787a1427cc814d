import { expect, it } from 'vitest';
import { issueBody } from '../helpers/authority.ts';
import { auditActions, caller, startDrillAuthority, startDrillSidecar } from '../helpers/drill-harness.ts';
import { waitFor } from '../helpers/wait.ts';

it('outage drill: the service sync answers 503, sidecars admit on the cached license and expiry_grace; stop lifts it early', async () => {
  const authority = await startDrillAuthority();
  const { clock } = authority;
  const sidecar = await startDrillSidecar(authority);
  const issued = (await authority.api('POST', '/v1/licenses', { body: issueBody({ allow: [caller], ttl: '30m', renew: 'never' }) })).body;
  await waitFor(() => sidecar.sync.get('api')?.claims.lid === issued.lid, { what: 'the license' });

  const started = await authority.api('POST', '/v1/drills', { body: { kind: 'outage', service: 'payments', for: '2h' } });
  expect(started.status).toBe(201);
  const drill = started.body;
  expect(drill).toMatchObject({ kind: 'outage', port: null, changes: { refused: 'GET /v1/licenses?service=payments', revoked: [], shortened: [] } });

  // the sidecar's parked long-poll is answered, and its next one refused
  await waitFor(() => !sidecar.sync.authorityReachable, { what: 'the sidecar to see the authority unreachable' });
  expect(sidecar.decide()).toEqual({ allow: true });
  expect(sidecar.sync.status('api')).toMatchObject({ health: 'degraded', lid: issued.lid, problem: 'authority unreachable; admitting on the cached license' });

  const refused = await authority.api('GET', '/v1/licenses?service=payments&index=1&wait=1s', { token: sidecar.token });
  expect(refused.status).toBe(503);
  expect(refused.body.error.code).toBe('unavailable');
  expect(refused.body.error.message).toContain(drill.id);
  // only that service's sync: keys and other services are served
  expect((await authority.api('GET', '/.well-known/jwks.json', { token: null })).status).toBe(200);
  expect((await authority.api('GET', '/v1/licenses?service=orders')).status).toBe(200);
  expect((await authority.api('GET', `/v1/licenses/${issued.lid}`)).status).toBe(200);

  // the license lapses during the outage: only expiry_grace admits, and only while unreachable
  clock.advance(31 * 60_000);
  expect(sidecar.decide()).toEqual({ allow: false, reason: 'expired' });
  expect(sidecar.decide({ expiryGraceMs: 5 * 60_000 })).toEqual({ allow: true });

  const stopped = await authority.api('POST', `/v1/drills/${drill.id}/stop`, { body: {} });
  expect(stopped.status).toBe(200);
  expect(stopped.body).toMatchObject({ state: 'restored', restored_by: 'env-admin', remaining_ms: 0, restored_at: new Date(clock.now()).toISOString() });
  await waitFor(() => sidecar.sync.authorityReachable, { what: 'the sidecar to sync again' });
  expect(sidecar.decide({ expiryGraceMs: 5 * 60_000 })).toEqual({ allow: false, reason: 'expired' });
  expect((await authority.api('GET', '/v1/licenses?service=payments', { token: sidecar.token })).status).toBe(200);

  const again = await authority.api('POST', `/v1/drills/${drill.id}/stop`, { body: {} });
  expect([again.status, again.body.error.code]).toEqual([409, 'conflict']);
  const entries = (await authority.api('GET', `/v1/audit?target=drill/${drill.id}`)).body.entries;
  expect(entries.map((e: { action: string; actor: string }) => [e.action, e.actor])).toEqual([
    ['drill.start', 'env-admin'],
    ['drill.restore', 'env-admin'],
  ]);
  expect(await auditActions(authority, `license/${issued.lid}`)).toEqual(['license.issued']);
});

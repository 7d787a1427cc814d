import { expect, it } from 'vitest';
import { issueBody } from '../helpers/authority.ts';
import { auditActions, caller, startDrillAuthority, startDrillSidecar } from '../helpers/drill-harness.ts';
import { waitFor } from '../helpers/wait.ts';

it('expire drill: the same lid lapses unrenewed (expired, not revoked), then is renewed for a full TTL', async () => {
  // the renewer sweeps every 20ms: it must leave the drilled license lapsing
  const authority = await startDrillAuthority({ renewIntervalMs: 20 });
  const { clock } = authority;
  const sidecar = await startDrillSidecar(authority);
  const issued = (await authority.api('POST', '/v1/licenses', { body: issueBody({ allow: [caller], ttl: '2h', renew: 'always' }) })).body;
  await waitFor(() => sidecar.sync.get('api')?.claims.jti === issued.jti, { what: 'the license' });

  clock.advance(10_000);
  const started = await authority.api('POST', '/v1/drills', { body: { kind: 'expire', service: 'payments', port: 'api', for: '5m' } });
  expect(started.status).toBe(201);
  const drill = started.body;
  const [shortened] = drill.changes.shortened;
  expect(shortened).toMatchObject({
    lid: issued.lid,
    jti_before: issued.jti,
    expires_at_before: issued.expires_at,
    expires_at: new Date(clock.now() + 5_000).toISOString(),
    renew_before: 'always',
  });
  expect(shortened.jti).not.toBe(issued.jti);

  // the sidecar takes the short token as a renewal of the same license
  await waitFor(() => sidecar.sync.get('api')?.claims.jti === shortened.jti, { what: 'the short token' });
  expect(sidecar.sync.get('api')?.claims.lid).toBe(issued.lid);
  expect(sidecar.decide()).toEqual({ allow: true });

  clock.advance(5_000);
  expect(sidecar.decide()).toEqual({ allow: false, reason: 'expired' });
  expect(sidecar.sync.get('api')?.revoked).toBe(false);
  expect(sidecar.sync.status('api').health).toBe('expired');
  // the renewer records the lapse and does not renew it
  await waitFor(async () => (await auditActions(authority, `license/${issued.lid}`)).includes('license.expired'), { what: 'the lapse to be recorded' });
  expect((await authority.api('GET', `/v1/licenses/${issued.lid}`)).body).toMatchObject({ state: 'expired', renew: 'never', jti: shortened.jti });
  expect(sidecar.decide()).toEqual({ allow: false, reason: 'expired' });

  clock.advance(295_000);
  await waitFor(async () => (await authority.api('GET', `/v1/drills/${drill.id}`)).body.state === 'restored', { what: 'the restore' });
  const restored = (await authority.api('GET', `/v1/drills/${drill.id}`)).body;
  expect(restored.changes.restored).toEqual([{ from: issued.lid, lid: issued.lid, how: 'renewed', expires_at: new Date(clock.now() + 2 * 3_600_000).toISOString() }]);
  const license = (await authority.api('GET', `/v1/licenses/${issued.lid}`)).body;
  expect(license).toMatchObject({ state: 'active', renew: 'always', ttl: '2h', allow: [caller], expires_at: restored.changes.restored[0].expires_at });

  await waitFor(() => sidecar.sync.get('api')?.claims.jti === license.jti, { what: 'the renewed token' });
  expect(sidecar.decide()).toEqual({ allow: true });
  expect(sidecar.sync.status('api').health).toBe('ok');

  expect(await auditActions(authority, `license/${issued.lid}`)).toEqual(['license.issued', 'license.shortened', 'license.expired', 'license.restored']);
  expect(await auditActions(authority, `drill/${drill.id}`)).toEqual(['drill.start', 'drill.restore']);
});

import { expect, it } from 'vitest';
import { issueBody } from '../helpers/authority.ts';
import { auditActions, caller, reportAccess, startDrillAuthority, startDrillSidecar } from '../helpers/drill-harness.ts';
import { waitFor } from '../helpers/wait.ts';

it('revoke drill: sidecars decide revoked for the window, then a replacement with the same terms admits again', async () => {
  const authority = await startDrillAuthority();
  const { clock } = authority;
  const sidecar = await startDrillSidecar(authority);
  const issued = (await authority.api('POST', '/v1/licenses', { body: issueBody({ allow: [caller], ttl: '2h', renew: 'always' }) })).body;
  await waitFor(() => sidecar.sync.get('api')?.claims.lid === issued.lid, { what: 'the license' });
  expect(sidecar.decide()).toEqual({ allow: true });

  const started = await authority.api('POST', '/v1/drills', { body: { kind: 'revoke', service: 'payments', port: 'api', for: '5m' } });
  expect(started.status).toBe(201);
  const drill = started.body;
  expect(drill).toMatchObject({ kind: 'revoke', service: 'payments', port: 'api', state: 'active', remaining_ms: 300_000, actor: 'env-admin' });
  expect(drill.changes.revoked).toEqual([issued.lid]);
  expect(drill.id).toMatch(/^drl_[0-9a-f]{16}$/);

  await waitFor(() => sidecar.sync.get('api')?.revoked, { what: 'the revocation to reach the sidecar' });
  expect(sidecar.decide()).toEqual({ allow: false, reason: 'revoked' });
  expect((await authority.api('GET', `/v1/licenses/${issued.lid}`)).body.state).toBe('revoked');

  // what the sidecar reports meanwhile: two callers refused, one of them seen before the drill
  clock.advance(60_000);
  await reportAccess(authority, sidecar.token, [
    { identity: caller, origin: '10.1.0.7:40000', count: 12, at: clock.now(), decision: 'deny', reason: 'revoked' },
    { identity: 'spiffe://corp/ns/ops/sa/cron', origin: '10.1.0.9:40001', count: 3, at: clock.now(), decision: 'deny', reason: 'revoked' },
  ]);
  const live = (await authority.api('GET', `/v1/drills/${drill.id}`)).body;
  expect(live.remaining_ms).toBe(240_000);
  expect(live.telemetry).toMatchObject({ connections: 15, refused_by_reason: { revoked: 2 }, admitted_callers: 0 });

  // the window ends: the sweeper issues the replacement, with no one watching
  clock.advance(240_000);
  await waitFor(async () => (await authority.api('GET', `/v1/drills/${drill.id}`)).body.state === 'restored', { what: 'the restore' });
  const restored = (await authority.api('GET', `/v1/drills/${drill.id}`)).body;
  expect(restored).toMatchObject({ state: 'restored', restored_by: 'system', remaining_ms: 0 });
  const [mapping] = restored.changes.restored;
  expect(mapping).toMatchObject({ from: issued.lid, how: 'reissued' });
  expect(mapping.lid).not.toBe(issued.lid);
  // the report is kept as it stood at the restore
  expect(restored.telemetry).toMatchObject({ connections: 15, refused_by_reason: { revoked: 2 } });
  expect(restored.telemetry.callers.map((c: { identity: string; origin: string; reason: string }) => [c.identity, c.origin, c.reason])).toEqual(
    expect.arrayContaining([
      [caller, '10.1.0.7', 'revoked'],
      ['spiffe://corp/ns/ops/sa/cron', '10.1.0.9', 'revoked'],
    ]),
  );

  const replacement = (await authority.api('GET', `/v1/licenses/${mapping.lid}`)).body;
  for (const field of ['service', 'port_name', 'port', 'allow', 'env', 'renew', 'ttl'] as const) expect(replacement[field]).toEqual(issued[field]);
  expect(replacement.state).toBe('active');

  await waitFor(() => sidecar.sync.get('api')?.claims.lid === mapping.lid, { what: 'the replacement to reach the sidecar' });
  expect(sidecar.decide()).toEqual({ allow: true });

  expect(await auditActions(authority, `drill/${drill.id}`)).toEqual(['drill.start', 'drill.restore']);
  expect(await auditActions(authority, `license/${issued.lid}`)).toEqual(['license.issued', 'license.revoked']);
  expect(await auditActions(authority, `license/${mapping.lid}`)).toEqual(['license.issued']);
  const revocation = (await authority.api('GET', `/v1/audit?target=license/${issued.lid}&action=license.revoked`)).body.entries[0];
  expect(revocation).toMatchObject({ actor: 'env-admin', after: { reason: `drill ${drill.id}` } });
  const restore = (await authority.api('GET', `/v1/audit?target=drill/${drill.id}&action=drill.restore`)).body.entries[0];
  expect(restore).toMatchObject({ actor: 'system', before: { state: 'active' }, after: { state: 'restored', changes: { restored: [mapping] } } });
});

import { expect, it } from 'vitest';
import { startTestAuthority, type TestAuthority } from '../helpers/authority.ts';
import { auditOf, requestPort } from '../helpers/register.ts';

const day = 86_400_000;

/** A sidecar of `service` reports admitted (or refused) connections to `port` now. */
async function access(t: TestAuthority, service: string, port: string, decision: 'allow' | 'deny' = 'allow'): Promise<void> {
  const token = (await t.api('POST', '/v1/tokens', { body: { role: 'sidecar', service } })).body.token;
  const at = new Date(t.clock.now()).toISOString();
  const answer = await t.api('POST', '/v1/telemetry', {
    token,
    body: { batch_id: `b-${service}-${port}-${at}`, records: [{ port, identity: 'spiffe://corp/ns/x/sa/y', origin: '10.0.0.1:4000', last_access: at, decision, count: 1 }] },
  });
  expect(answer.body.applied).toBe(true);
}

const names = (ports: { service: string; name: string }[]) => ports.map((p) => `${p.service}/${p.name}`);

it('lists active ports unused for stale_after, reclaims them only with dry_run false, and never one in use or in a transition', async () => {
  const t = await startTestAuthority({ config: { register: { stale_after: '30d' }, licenses: { ttl: '60d', max_lifetime: '90d' } } });
  const allow = ['spiffe://corp/ns/x/sa/y'];
  const used = (await requestPort(t, { name: 'used', env: 'prod', license: { allow } })).body;
  const idle = (await requestPort(t, { name: 'idle', env: 'prod' })).body;
  const faded = (await requestPort(t, { name: 'faded', env: 'prod', license: { allow } })).body;
  const moving = (await requestPort(t, { name: 'moving', env: 'prod' })).body;
  const refused = (await requestPort(t, { name: 'refused', env: 'prod' })).body;
  await t.api('POST', `/v1/ports/${moving.id}/transition`, { body: { to: moving.number + 1, window: '60d' } });

  t.clock.advance(5 * day);
  await access(t, 'payments', 'faded'); // last used 5 days in
  t.clock.advance(30 * day);
  await access(t, 'payments', 'used'); // in use 35 days in
  await access(t, 'payments', 'refused', 'deny'); // only refused callers: not in use
  const recent = (await requestPort(t, { name: 'recent', env: 'prod' })).body;
  t.clock.advance(day); // 36 days in

  const stale = (await t.api('GET', '/v1/ports?stale=1')).body.ports;
  expect(names(stale)).toEqual(['payments/idle', 'payments/refused', 'payments/faded']);
  expect(stale.map((p: { last_access_at: string | null }) => p.last_access_at)).toEqual([null, null, '2026-01-06T12:00:00.000Z']);
  expect((await t.api('GET', '/v1/ports?stale=1&env=staging')).body.ports).toEqual([]);

  const dry = (await t.api('POST', '/v1/ports/reclaim', { body: {} })).body;
  expect(dry).toMatchObject({ dry_run: true, stale_after: '30d' });
  expect(names(dry.ports)).toEqual(names(stale));
  expect((await t.api('GET', `/v1/ports/${idle.id}`)).body.state).toBe('active');
  expect(await auditOf(t, 'port.reclaim')).toEqual([]);

  const done = (await t.api('POST', '/v1/ports/reclaim', { body: { dry_run: false } })).body;
  expect(done.dry_run).toBe(false);
  expect(done.ports.map((p: { name: string; state: string }) => [p.name, p.state])).toEqual([
    ['idle', 'released'],
    ['refused', 'released'],
    ['faded', 'released'],
  ]);
  const fadedNow = (await t.api('GET', `/v1/ports/${faded.id}`)).body;
  expect(fadedNow.licenses.map((l: { state: string }) => l.state)).toEqual(['revoked']);
  for (const kept of [used, moving, recent]) expect((await t.api('GET', `/v1/ports/${kept.id}`)).body.state).not.toBe('released');

  const audit = await auditOf(t, 'port.reclaim');
  expect(audit.map((e) => [e.target, e.actor, e.after.reason])).toEqual([
    [`port/${idle.id}`, 'env-admin', 'unused since 2026-01-01T12:00:00.000Z (stale_after 30d)'],
    [`port/${refused.id}`, 'env-admin', 'unused since 2026-01-01T12:00:00.000Z (stale_after 30d)'],
    [`port/${faded.id}`, 'env-admin', 'unused since 2026-01-06T12:00:00.000Z (stale_after 30d)'],
  ]);
  expect(audit[2].after.revoked).toEqual([faded.licenses[0].lid]);
  expect((await t.api('GET', '/v1/ports?stale=1')).body.ports).toEqual([]);
  expect((await t.api('POST', '/v1/ports/reclaim', { body: { dry_run: false } })).body.ports).toEqual([]);
});

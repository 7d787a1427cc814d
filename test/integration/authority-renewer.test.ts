import { expect, it } from 'vitest';
import { issueBody, startTestAuthority } from '../helpers/authority.ts';
import { waitFor } from '../helpers/wait.ts';

it('renews `always` and in-use `auto` licenses before expiry, and audits every lapse', async () => {
  const t = await startTestAuthority({ renewIntervalMs: 20, config: { licenses: { ttl: '1h', renew_before: '10m', max_lifetime: '30d' } } });
  const issue = async (port_name: string, renew: string) => (await t.api('POST', '/v1/licenses', { body: issueBody({ port_name, renew, ttl: undefined }) })).body;
  const always = await issue('always', 'always');
  const used = await issue('used', 'auto');
  const idle = await issue('idle', 'auto');
  const early = await issue('early', 'auto');
  const never = await issue('never', 'never');
  const sidecar = (await t.api('POST', '/v1/tokens', { body: { role: 'sidecar', service: 'payments' } })).body.token;

  const report = async (batch_id: string, records: object[]) => {
    const at = new Date(t.clock.now()).toISOString();
    const body = { batch_id, service: 'payments', sent_at: at, records: records.map((r) => ({ origin: '10.0.0.1:5000', count: 1, last_access: at, decision: 'allow', reason: null, ...r })) };
    return (await t.api('POST', '/v1/telemetry', { token: sidecar, body })).body;
  };

  // `early` is used 20 minutes in, and never again: not in use by the time its window opens
  t.clock.advance(20 * 60_000);
  expect(await report('b-0', [{ port: 'early', identity: 'spiffe://corp/ns/ops/sa/a' }])).toMatchObject({ applied: true, records: 1 });
  // `used` is used 45 minutes in (denied connections do not count for `idle`)
  t.clock.advance(25 * 60_000);
  const telemetry = await report('b-1', [
    { port: 'used', identity: 'spiffe://corp/ns/ops/sa/a', count: 3 },
    { port: 'idle', identity: 'spiffe://x', origin: '10.0.0.2:5000', decision: 'deny', reason: 'identity_not_allowed' },
  ]);
  // both records are kept (who was refused is telemetry too); only the admitted one marks `used` in use
  expect(telemetry).toEqual({ batch_id: 'b-1', service: 'payments', applied: true, records: 2 });

  t.clock.advance(6 * 60_000); // 51 minutes in: inside the 10-minute renew window; `used` was accessed within its length, `early` was not
  const show = async (lid: string) => (await t.api('GET', `/v1/licenses/${lid}`)).body;
  await waitFor(async () => (await show(always.lid)).renewals === 1 && (await show(used.lid)).renewals === 1, { what: 'renewals' });
  const renewed = await show(always.lid);
  expect(renewed.jti).not.toBe(always.jti);
  expect(renewed.lid).toBe(always.lid);
  expect(Date.parse(renewed.expires_at)).toBe(Math.floor(t.clock.now() / 1000) * 1000 + 3_600_000);
  expect((await show(idle.lid)).renewals).toBe(0);
  expect((await show(early.lid)).renewals).toBe(0);
  expect((await show(never.lid)).renewals).toBe(0);
  // the ones that will lapse are visible before they do
  await waitFor(async () => ((await t.api('GET', '/metrics', { token: null })).body as string).includes('portwarden_authority_licenses_at_risk 3'), {
    what: 'the at-risk gauge',
  });

  t.clock.advance(10 * 60_000); // past the first tokens' exp
  // readers see the lapse at once; the renewer records it (audit, index) on its next sweep
  expect((await show(idle.lid)).state).toBe('expired');
  const expired = await waitFor(async () => {
    const entries = (await t.api('GET', '/v1/audit?action=license.expired')).body.entries;
    return entries.length === 3 ? entries : undefined;
  }, { what: 'the lapses to be audited' });
  expect(expired.map((e: { target: string; actor: string; after: { reason: string } }) => [e.target, e.actor, e.after.reason]).sort()).toEqual(
    [
      [`license/${idle.lid}`, 'system', 'not_in_use'],
      [`license/${early.lid}`, 'system', 'not_in_use'],
      [`license/${never.lid}`, 'system', 'renew_never'],
    ].sort(),
  );
  expect((await show(always.lid)).state).toBe('active');
  expect((await show(used.lid)).state).toBe('active');
  const current = (await t.api('GET', '/v1/licenses?service=payments')).body.licenses.map((l: { lid: string }) => l.lid).sort();
  expect(current).toEqual([always.lid, used.lid].sort());
  const renewals = (await t.api('GET', '/v1/audit?action=license.renewed')).body.entries;
  expect(renewals).toHaveLength(2);
  expect(renewals.every((e: { actor: string }) => e.actor === 'system')).toBe(true);
});

it('applies a telemetry batch once, however often it is sent', async () => {
  const t = await startTestAuthority();
  const license = (await t.api('POST', '/v1/licenses', { body: issueBody() })).body;
  const sidecar = (await t.api('POST', '/v1/tokens', { body: { role: 'sidecar', service: 'payments' } })).body.token;
  const at = new Date(t.clock.now()).toISOString();
  const batch = { batch_id: 'b-9', records: [{ port: 'api', identity: 'spiffe://a', origin: '10.0.0.1:1', count: 2, last_access: at }] };
  expect((await t.api('POST', '/v1/telemetry', { token: sidecar, body: batch })).body.applied).toBe(true);
  expect((await t.api('POST', '/v1/telemetry', { token: sidecar, body: batch })).body).toMatchObject({ applied: false, records: 0 });
  expect((await t.api('GET', `/v1/licenses/${license.lid}`)).body.last_access_at).toBe(at);
  const access = (await t.api('GET', '/v1/access?service=payments&port=api')).body;
  // the source port is not kept: it would make every connection a caller of its own
  expect(access.callers).toEqual([expect.objectContaining({ identity: 'spiffe://a', origin: '10.0.0.1', last_access_at: at, count: 2 })]);
  expect(access.totals).toMatchObject({ count: 2, last_access_at: at });
  // an admin must say which service it reports for
  const admin = await t.api('POST', '/v1/telemetry', { body: { ...batch, batch_id: 'b-10' } });
  expect([admin.status, admin.body.error.code]).toEqual([400, 'bad_request']);
});

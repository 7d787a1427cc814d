import { expect, it } from 'vitest';
import { startTestAuthority } from '../helpers/authority.ts';
import { auditOf, portPath, requestPort } from '../helpers/register.ts';

const caller = 'spiffe://corp/ns/billing/sa/api';

it('with approval: manual, a request waits as `requested` until an admin approves it, and is licensed then', async () => {
  const t = await startTestAuthority({ config: { register: { approval: 'manual' } } });
  const requested = await requestPort(t, { env: 'prod', reason: 'new checkout API', license: { allow: [caller] } });
  expect(requested.status).toBe(201);
  expect(requested.body).toMatchObject({ state: 'requested', approved_at: null, approved_by: null, licenses: [], pending_license: { allow: [caller] }, reason: 'new checkout API' });
  expect((await t.api('GET', '/v1/licenses?service=payments')).body.licenses).toEqual([]);

  t.clock.advance(3_600_000);
  const approved = await t.api('POST', portPath('payments/api', 'approve', 'prod'), { body: { reason: 'capacity ok' } });
  expect(approved.status).toBe(200);
  expect(approved.body).toMatchObject({
    id: requested.body.id,
    number: requested.body.number,
    state: 'active',
    approved_at: '2026-01-01T13:00:00.000Z',
    approved_by: 'env-admin',
    reason: 'capacity ok',
    pending_license: null,
  });
  const [license] = approved.body.licenses;
  expect(license).toMatchObject({ number: requested.body.number, state: 'active', allow: [caller] });
  const issued = (await t.api('GET', `/v1/licenses/${license.lid}`)).body;
  expect(issued).toMatchObject({ sub: 'payments/api', env: 'prod', port: { number: requested.body.number, protocol: 'tcp' } });

  const again = await t.api('POST', `/v1/ports/${requested.body.id}/approve`, { body: {} });
  expect([again.status, again.body.error.code]).toEqual([409, 'conflict']);

  const audit = await auditOf(t, 'port.approve');
  expect(audit).toHaveLength(1);
  expect(audit[0]).toMatchObject({ actor: 'env-admin', target: `port/${requested.body.id}`, before: { state: 'requested' }, after: { state: 'active', issued: [license.lid] } });
  expect((await auditOf(t, 'port.request'))[0]).toMatchObject({ after: { state: 'requested', approval: 'manual' } });
});

it('a rejected request frees its number at once and is final', async () => {
  const t = await startTestAuthority({ config: { register: { approval: 'manual' } } });
  const requested = (await requestPort(t, { env: 'prod', number: 20001 })).body;
  const rejected = await t.api('POST', `/v1/ports/${requested.id}/reject`, { body: { reason: 'use the shared gateway' } });
  expect(rejected.body).toMatchObject({ state: 'rejected', rejected_by: 'env-admin', reason: 'use the shared gateway', rejected_at: '2026-01-01T12:00:00.000Z' });
  // no caller ever used a rejected number: no cool-down
  expect((await requestPort(t, { service: 'orders', name: 'grpc', env: 'prod', number: 20001 })).status).toBe(201);
  const approve = await t.api('POST', `/v1/ports/${requested.id}/approve`, { body: {} });
  expect(approve.body.error).toEqual({ code: 'conflict', message: 'a port cannot go from rejected to active (rejected is final)' });
  // asking again makes a new record
  const renewed = await requestPort(t, { env: 'prod' });
  expect([renewed.status, renewed.body.state]).toEqual([201, 'requested']);
  expect(renewed.body.id).not.toBe(requested.id);
  expect((await auditOf(t, 'port.reject')).map((e) => [e.actor, e.before.state, e.after.state])).toEqual([['env-admin', 'requested', 'rejected']]);
});

it('licenses an active port in the same change as the request, and rolls the request back when licensing fails', async () => {
  const t = await startTestAuthority();
  const port = (await requestPort(t, { env: 'prod', license: { allow: [caller, 'spiffe://corp/ns/ops/*'], ttl: '2h', renew: 'always' } })).body;
  expect(port.state).toBe('active');
  const [license] = port.licenses;
  const listed = (await t.api('GET', '/v1/licenses?service=payments')).body.licenses;
  expect(listed.map((l: { lid: string }) => l.lid)).toEqual([license.lid]);
  expect(listed[0]).toMatchObject({ sub: 'payments/api', port: { number: port.number }, env: 'prod', ttl: '2h', renew: 'always', allow: [caller, 'spiffe://corp/ns/ops/*'] });
  expect((await auditOf(t, 'port.request'))[0].after.issued).toEqual([license.lid]);

  const tooLong = await requestPort(t, { name: 'admin', env: 'prod', license: { allow: [caller], ttl: '90d' } });
  expect([tooLong.status, tooLong.body.error.code]).toEqual([400, 'bad_request']);
  expect((await t.api('GET', '/v1/ports?service=payments')).body.ports.map((p: { name: string }) => p.name)).toEqual(['api']);
  expect(await auditOf(t, 'port.request')).toHaveLength(1);
});

it('releasing a port revokes its licenses (and only its own), audited', async () => {
  const t = await startTestAuthority();
  const port = (await requestPort(t, { env: 'prod', license: { allow: [caller] } })).body;
  const byHand = (await t.api('POST', '/v1/licenses', { body: { service: 'payments', port_name: 'api', port: { number: port.number }, allow: ['spiffe://x'], env: 'prod' } })).body;
  const otherEnv = (await t.api('POST', '/v1/licenses', { body: { service: 'payments', port_name: 'api', port: { number: port.number }, allow: ['spiffe://x'], env: 'staging' } })).body;
  const otherNumber = (await t.api('POST', '/v1/licenses', { body: { service: 'payments', port_name: 'api', port: { number: 20999 }, allow: ['spiffe://x'], env: 'prod' } })).body;
  const index = Number((await t.api('GET', '/v1/licenses?service=payments')).headers['x-portwarden-index']);

  t.clock.advance(60_000);
  const released = await t.api('POST', portPath('payments/api', 'release', 'prod'), { body: { reason: 'service retired' } });
  expect(released.body).toMatchObject({ state: 'released', released_by: 'env-admin', released_at: '2026-01-01T12:01:00.000Z', reason: 'service retired' });
  expect(released.body.licenses.map((l: { lid: string; state: string }) => [l.lid, l.state])).toEqual([
    [port.licenses[0].lid, 'revoked'],
    [byHand.lid, 'revoked'],
  ]);
  for (const kept of [otherEnv, otherNumber]) expect((await t.api('GET', `/v1/licenses/${kept.lid}`)).body.state).toBe('active');

  // a watching sidecar hears of the revocations through the blocking query
  const watch = await t.api('GET', `/v1/licenses?service=payments&index=${index}&wait=1s`);
  expect(watch.body.revoked.sort()).toEqual([port.licenses[0].lid, byHand.lid].sort());

  const [entry] = await auditOf(t, 'port.release');
  expect(entry).toMatchObject({ actor: 'env-admin', before: { state: 'active' }, after: { state: 'released', revoked: [port.licenses[0].lid, byHand.lid] } });
  const revocations = await auditOf(t, 'license.revoked');
  expect(revocations.map((e) => e.after.reason)).toEqual(['port released: service retired', 'port released: service retired']);
  const twice = await t.api('POST', `/v1/ports/${port.id}/release`, { body: {} });
  expect(twice.body.error).toEqual({ code: 'conflict', message: 'a port cannot go from released to released (released is final)' });
});

import { expect, it } from 'vitest';
import { issueBody, startTestAuthority } from '../helpers/authority.ts';

it('scopes a sidecar token to its service and refuses callers without a valid token', async () => {
  const t = await startTestAuthority();
  const mine = (await t.api('POST', '/v1/licenses', { body: issueBody() })).body;
  const theirs = (await t.api('POST', '/v1/licenses', { body: issueBody({ service: 'orders' }) })).body;
  const created = (await t.api('POST', '/v1/tokens', { body: { role: 'sidecar', service: 'payments', name: 'payments-sidecar' } })).body;
  const sidecar = created.token as string;

  // its own service, named or implied
  const own = await t.api('GET', '/v1/licenses?service=payments', { token: sidecar });
  expect(own.status).toBe(200);
  expect(own.body.licenses.map((l: { lid: string }) => l.lid)).toEqual([mine.lid]);
  expect((await t.api('GET', '/v1/licenses', { token: sidecar })).body.licenses).toHaveLength(1);
  expect((await t.api('GET', `/v1/licenses/${mine.lid}`, { token: sidecar })).status).toBe(200);

  // anything else: 403 forbidden
  const forbidden = [
    await t.api('GET', '/v1/licenses?service=orders', { token: sidecar }),
    await t.api('GET', `/v1/licenses/${theirs.lid}`, { token: sidecar }),
    await t.api('GET', '/v1/licenses/lic_unknown', { token: sidecar }),
    await t.api('POST', '/v1/licenses', { body: issueBody(), token: sidecar }),
    await t.api('POST', `/v1/licenses/${mine.lid}/revoke`, { token: sidecar }),
    await t.api('GET', '/v1/tokens', { token: sidecar }),
    await t.api('GET', '/v1/audit', { token: sidecar }),
    await t.api('POST', '/v1/keys/rotate', { token: sidecar }),
    await t.api('POST', '/v1/telemetry', { body: { batch_id: 'b1', service: 'orders', records: [] }, token: sidecar }),
  ];
  for (const answer of forbidden) expect([answer.status, answer.body.error.code]).toEqual([403, 'forbidden']);

  // no token, a made-up one, a malformed header: 401
  for (const token of [null, 'pw.0000000000000000.nope', 'garbage']) {
    const answer = await t.api('GET', '/v1/licenses?service=payments', { token });
    expect([answer.status, answer.body.error.code]).toEqual([401, 'unauthenticated']);
    expect(answer.headers['www-authenticate']).toMatch(/^Bearer/);
  }
  // the JWKS and health are public
  expect((await t.api('GET', '/.well-known/jwks.json', { token: null })).status).toBe(200);
  expect((await t.api('GET', '/healthz', { token: null })).status).toBe(200);

  // a revoked token stops working at once
  expect((await t.api('POST', `/v1/tokens/${created.id}/revoke`)).body.revoked_at).not.toBeNull();
  expect((await t.api('GET', '/v1/licenses', { token: sidecar })).status).toBe(401);
  // tokens are listed without secrets
  const listed = (await t.api('GET', '/v1/tokens')).body.tokens;
  expect(listed).toEqual([expect.objectContaining({ id: created.id, role: 'sidecar', service: 'payments', name: 'payments-sidecar' })]);
  expect(JSON.stringify(listed)).not.toContain(sidecar.split('.')[2]);
});

it('refuses a sidecar token without a service and an admin token with one', async () => {
  const t = await startTestAuthority();
  const noService = await t.api('POST', '/v1/tokens', { body: { role: 'sidecar' } });
  expect([noService.status, noService.body.error.code]).toEqual([400, 'bad_request']);
  expect(noService.body.error.message).toMatch(/^service:/);
  expect((await t.api('POST', '/v1/tokens', { body: { role: 'admin', service: 'payments' } })).status).toBe(400);
});

import { expect, it } from 'vitest';
import { startTestAuthority } from '../helpers/authority.ts';

it('shows a registered port its callers by id or service/name, to admins and its own sidecar only', async () => {
  const t = await startTestAuthority();
  const port = (await t.api('POST', '/v1/ports', { body: { service: 'payments', name: 'api', env: 'prod', number: 24_100 } })).body;
  const payments = (await t.api('POST', '/v1/tokens', { body: { role: 'sidecar', service: 'payments' } })).body.token;
  const at = new Date(t.clock.now()).toISOString();
  const records = [
    { port: 'api', identity: 'spiffe://corp/sa/a', origin: '10.0.0.1', count: 2, bytes_in: 5, bytes_out: 6, first_access: at, last_access: at, decision: 'allow', reason: null },
  ];
  await t.api('POST', '/v1/telemetry', { token: payments, body: { batch_id: 'b-1', service: 'payments', sent_at: at, records } });

  const byName = await t.api('GET', '/v1/ports/payments%2Fapi/access?env=prod', { token: payments });
  expect(byName.status).toBe(200);
  expect(byName.body).toEqual({
    id: port.id,
    env: 'prod',
    service: 'payments',
    port: 'api',
    totals: { count: 2, bytes_in: 5, bytes_out: 6, first_access_at: at, last_access_at: at, last_decision: 'allow', last_reason: null, last_allowed_at: at },
    callers: [
      { port: 'api', identity: 'spiffe://corp/sa/a', origin: '10.0.0.1', count: 2, bytes_in: 5, bytes_out: 6, first_access_at: at, last_access_at: at, last_decision: 'allow', last_reason: null },
    ],
  });
  expect((await t.api('GET', `/v1/ports/${port.id}/access`)).body).toEqual(byName.body);

  const orders = (await t.api('POST', '/v1/tokens', { body: { role: 'sidecar', service: 'orders' } })).body.token;
  for (const path of [`/v1/ports/${port.id}/access`, '/v1/ports/payments%2Fapi/access?env=prod']) {
    const refused = await t.api('GET', path, { token: orders });
    expect([refused.status, refused.body.error.code]).toEqual([403, 'forbidden']);
  }
  const elsewhere = await t.api('GET', '/v1/ports/payments%2Fapi/access?env=staging');
  expect([elsewhere.status, elsewhere.body.error.code]).toEqual([404, 'not_found']);
  const mixed = await t.api('GET', `/v1/ports/${port.id}/access?env=prod`);
  expect([mixed.status, mixed.body.error.code]).toEqual([400, 'bad_request']);
});

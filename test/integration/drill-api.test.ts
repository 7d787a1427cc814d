import { expect, it } from 'vitest';
import { issueBody } from '../helpers/authority.ts';
import { startDrillAuthority } from '../helpers/drill-harness.ts';

const start = (overrides: Record<string, unknown> = {}) => ({ body: { kind: 'revoke', service: 'payments', port: 'api', for: '5m', ...overrides } });

it('refuses bad drills by key, overlapping drills, and drills of ports without a license', async () => {
  const authority = await startDrillAuthority();
  const refused = async (overrides: Record<string, unknown>) => {
    const answer = await authority.api('POST', '/v1/drills', start(overrides));
    return [answer.status, answer.body.error?.code, answer.body.error?.message];
  };
  expect(await refused({ kind: 'flood' })).toEqual([400, 'bad_request', expect.stringContaining('kind:')]);
  expect(await refused({ port: undefined })).toEqual([400, 'bad_request', 'port: required for a revoke drill']);
  expect(await refused({ for: 'soon' })).toEqual([400, 'bad_request', expect.stringContaining('for:')]);
  expect(await refused({ for: '25h' })).toEqual([400, 'bad_request', 'for: must be from 1s to 24h']);
  expect(await refused({ kind: 'expire', for: '5s' })).toEqual([400, 'bad_request', expect.stringContaining('for: an expire drill must outlast')]);
  expect(await refused({ extra: true })).toEqual([400, 'bad_request', 'extra: unknown key']);
  expect(await refused({})).toEqual([409, 'conflict', 'payments/api has no active license to drill']);

  const issued = (await authority.api('POST', '/v1/licenses', { body: issueBody() })).body;
  // signed this very second: a short token of the same second would not replace it at the sidecars
  expect(await refused({ kind: 'expire' })).toEqual([409, 'conflict', expect.stringContaining(issued.lid)]);
  authority.clock.advance(1_000);

  const drill = (await authority.api('POST', '/v1/drills', start())).body;
  expect(await refused({})).toEqual([409, 'conflict', expect.stringContaining(drill.id)]);
  expect(await refused({ kind: 'outage' })).toEqual([409, 'conflict', expect.stringContaining(drill.id)]);
  // another service is free
  expect((await authority.api('POST', '/v1/drills', start({ kind: 'outage', service: 'orders' }))).status).toBe(201);
  // no state change was left behind by the refused attempts: one revocation, by the drill
  expect((await authority.api('GET', `/v1/audit?action=license.revoked`)).body.entries).toHaveLength(1);
});

it('lets admins start and stop drills, and a sidecar token read only its own service', async () => {
  const authority = await startDrillAuthority();
  await authority.api('POST', '/v1/licenses', { body: issueBody() });
  const payments = (await authority.api('POST', '/v1/tokens', { body: { role: 'sidecar', service: 'payments' } })).body.token;
  const orders = (await authority.api('POST', '/v1/tokens', { body: { role: 'sidecar', service: 'orders' } })).body.token;

  expect((await authority.api('POST', '/v1/drills', { ...start(), token: payments })).status).toBe(403);
  const drill = (await authority.api('POST', '/v1/drills', start())).body;
  const other = (await authority.api('POST', '/v1/drills', start({ kind: 'outage', service: 'orders' }))).body;

  const listed = await authority.api('GET', '/v1/drills', { token: payments });
  expect(listed.body.drills.map((d: { id: string }) => d.id)).toEqual([drill.id]);
  expect(listed.body.drills[0].telemetry).toBeUndefined();
  expect((await authority.api('GET', '/v1/drills?service=orders', { token: payments })).status).toBe(403);
  expect((await authority.api('GET', `/v1/drills/${drill.id}`, { token: payments })).body.telemetry).toMatchObject({ connections: 0, callers: [] });
  expect((await authority.api('GET', `/v1/drills/${drill.id}`, { token: orders })).status).toBe(403);
  expect((await authority.api('GET', '/v1/drills/drl_nope', { token: orders })).status).toBe(403);
  expect((await authority.api('GET', '/v1/drills/drl_nope')).status).toBe(404);
  expect((await authority.api('POST', `/v1/drills/${drill.id}/stop`, { body: {}, token: payments })).status).toBe(403);
  expect((await authority.api('POST', '/v1/drills/drl_nope/stop', { body: {} })).status).toBe(404);

  expect((await authority.api('POST', `/v1/drills/${drill.id}/stop`, { body: {} })).body.state).toBe('restored');
  const all = (await authority.api('GET', '/v1/drills')).body.drills.map((d: { id: string; state: string }) => [d.id, d.state]);
  expect(all).toEqual(expect.arrayContaining([[drill.id, 'restored'], [other.id, 'active']]));
  expect((await authority.api('GET', '/v1/drills?state=active')).body.drills.map((d: { id: string }) => d.id)).toEqual([other.id]);
});

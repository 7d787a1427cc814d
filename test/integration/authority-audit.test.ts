import { expect, it } from 'vitest';
import { issueBody, startTestAuthority } from '../helpers/authority.ts';

it('records who changed what and when, filtered by since, actor, action and target', async () => {
  const t = await startTestAuthority();
  const start = t.clock.now();
  const operator = (await t.api('POST', '/v1/tokens', { body: { role: 'admin', name: 'operator' } })).body;
  t.clock.advance(2 * 3_600_000);
  const license = (await t.api('POST', '/v1/licenses', { body: issueBody(), token: operator.token })).body;
  await t.api('POST', `/v1/licenses/${license.lid}/renew`, { token: operator.token });
  await t.api('POST', `/v1/licenses/${license.lid}/revoke`, { body: { reason: 'decommissioned' } });
  await t.api('POST', `/v1/tokens/${operator.id}/revoke`);

  const actions = async (query: string) => (await t.api('GET', `/v1/audit${query}`)).body.entries.map((e: { action: string }) => e.action);
  expect(await actions('')).toEqual(['key.created', 'token.created', 'license.issued', 'license.renewed', 'license.revoked', 'token.revoked']);
  expect(await actions('?since=1h')).toEqual(['license.issued', 'license.renewed', 'license.revoked', 'token.revoked']);
  expect(await actions(`?since=${new Date(start + 1).toISOString()}`)).toEqual(['license.issued', 'license.renewed', 'license.revoked', 'token.revoked']);
  expect(await actions(`?actor=${operator.id}`)).toEqual(['license.issued', 'license.renewed']);
  expect(await actions(`?target=license/${license.lid}&action=license.revoked`)).toEqual(['license.revoked']);
  expect(await actions('?target=token/*&limit=1')).toEqual(['token.revoked']);

  const [revoked] = (await t.api('GET', `/v1/audit?action=license.revoked`)).body.entries;
  expect(revoked).toMatchObject({
    actor: 'env-admin',
    target: `license/${license.lid}`,
    at: new Date(t.clock.now()).toISOString(),
    before: { state: 'active', jti: expect.any(String) },
    after: { state: 'revoked', reason: 'decommissioned' },
  });
  // tokens never reach the audit log
  expect(JSON.stringify((await t.api('GET', '/v1/audit')).body)).not.toContain(license.token);
  const bad = await t.api('GET', '/v1/audit?since=yesterday');
  expect([bad.status, bad.body.error.message]).toEqual([400, expect.stringMatching(/^since:/)]);
});

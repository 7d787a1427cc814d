import { expect, it } from 'vitest';
import { issueBody, startTestAuthority } from '../helpers/authority.ts';
import { waitFor } from '../helpers/wait.ts';

it('caps renewals at the max lifetime, then refuses with license_max_lifetime and lets it lapse', async () => {
  const t = await startTestAuthority({ renewIntervalMs: 20, config: { licenses: { ttl: '1h', max_lifetime: '2h', renew_before: '10m' } } });
  const tooLong = await t.api('POST', '/v1/licenses', { body: issueBody({ ttl: '3h' }) });
  expect([tooLong.status, tooLong.body.error.code]).toEqual([400, 'bad_request']);
  expect(tooLong.body.error.message).toMatch(/^ttl:/);

  const license = (await t.api('POST', '/v1/licenses', { body: issueBody({ ttl: '1h', renew: 'never' }) })).body;
  const issuedAt = Date.parse(license.issued_at);
  expect(license.max_lifetime_until).toBe(new Date(issuedAt + 2 * 3_600_000).toISOString());

  t.clock.advance(50 * 60_000); // 0h50m: a full TTL more
  const renewed = await t.api('POST', `/v1/licenses/${license.lid}/renew`);
  expect(renewed.status).toBe(200);
  expect(renewed.body.expires_at).toBe(new Date(issuedAt + 110 * 60_000).toISOString());

  t.clock.advance(50 * 60_000); // 1h40m: another TTL would pass 2h, so it is capped there
  const capped = await t.api('POST', `/v1/licenses/${license.lid}/renew`);
  expect(capped.body.expires_at).toBe(license.max_lifetime_until);
  const refused = await t.api('POST', `/v1/licenses/${license.lid}/renew`);
  expect([refused.status, refused.body.error.code]).toEqual([409, 'license_max_lifetime']);

  t.clock.advance(20 * 60_000); // 2h: it lapses for good, audited with the reason
  const entry = await waitFor(async () => (await t.api('GET', `/v1/audit?action=license.expired&target=license/${license.lid}`)).body.entries[0], {
    what: 'the lapse to be audited',
  });
  expect(entry.after.reason).toBe('max_lifetime');
  const again = await t.api('POST', `/v1/licenses/${license.lid}/renew`);
  expect([again.status, again.body.error.code]).toEqual([409, 'conflict']);
});

it('does not refuse a renewal in the same second as the issue as license_max_lifetime', async () => {
  const t = await startTestAuthority();
  const license = (await t.api('POST', '/v1/licenses', { body: issueBody() })).body;
  const renewed = await t.api('POST', `/v1/licenses/${license.lid}/renew`);
  expect(renewed.status).toBe(200);
  expect(renewed.body).toMatchObject({ lid: license.lid, expires_at: license.expires_at, renewals: 1 });
  expect(renewed.body.jti).not.toBe(license.jti);
});

import { createLocalJWKSet, createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { expect, it } from 'vitest';
import { issueBody, pinnedLicenseChecks, startTestAuthority } from '../helpers/authority.ts';
import { waitFor } from '../helpers/wait.ts';

it('issues a license that verifies against the published JWKS with every claim of the contract', async () => {
  const t = await startTestAuthority();
  const license = (await t.api('POST', '/v1/licenses', { body: issueBody({ ttl: '2h', renew: 'always' }) })).body;
  const { payload, protectedHeader } = await jwtVerify(license.token, createRemoteJWKSet(new URL(`${t.url}/.well-known/jwks.json`)), pinnedLicenseChecks(t.clock.now()));
  expect(protectedHeader).toEqual({ alg: 'EdDSA', typ: 'portwarden-license+jwt', kid: license.kid });
  const iat = t.clock.now() / 1000;
  expect(payload).toEqual({
    iss: 'portwarden-authority',
    sub: 'payments/api',
    aud: 'portwarden-sidecar',
    jti: license.jti,
    lid: license.lid,
    iat,
    nbf: iat,
    exp: iat + 7200,
    port: { number: 8443, protocol: 'tcp' },
    allow: ['spiffe://corp/ns/billing/sa/api', 'spiffe://corp/ns/ops/*'],
    env: 'prod',
  });
  const jwks = (await t.api('GET', '/.well-known/jwks.json', { token: null })).body;
  expect(jwks.keys).toEqual([{ kty: 'OKP', crv: 'Ed25519', x: expect.any(String), kid: license.kid, alg: 'EdDSA', use: 'sig' }]);
});

it('keeps a retired key in the JWKS until the last token it signed expires, then drops it', async () => {
  const t = await startTestAuthority({ renewIntervalMs: 20 });
  const old = (await t.api('POST', '/v1/licenses', { body: issueBody({ ttl: '1h', renew: 'never' }) })).body;
  const rotated = await t.api('POST', '/v1/keys/rotate');
  expect(rotated.status).toBe(200);
  expect(rotated.body.kid).not.toBe(old.kid);
  const fresh = (await t.api('POST', '/v1/licenses', { body: issueBody({ port_name: 'grpc', ttl: '3h' }) })).body;
  expect(decodeProtectedHeader(fresh.token).kid).toBe(rotated.body.kid);

  const jwksNow = async () => (await t.api('GET', '/.well-known/jwks.json', { token: null })).body as JSONWebKeySet;
  expect((await jwksNow()).keys.map((k) => k.kid).sort()).toEqual([old.kid, rotated.body.kid].sort());
  await jwtVerify(old.token, createLocalJWKSet(await jwksNow()), pinnedLicenseChecks(t.clock.now() + 59 * 60_000));
  await jwtVerify(fresh.token, createLocalJWKSet(await jwksNow()), pinnedLicenseChecks(t.clock.now()));
  const keys = (await t.api('GET', '/v1/keys')).body.keys;
  expect(keys.find((k: { kid: string }) => k.kid === old.kid)).toMatchObject({ state: 'retired', published: true });

  t.clock.advance(60 * 60_000); // the old key's last token has expired
  expect((await jwksNow()).keys.map((k) => k.kid)).toEqual([rotated.body.kid]);
  await expect(jwtVerify(old.token, createLocalJWKSet(await jwksNow()), pinnedLicenseChecks(t.clock.now() - 1000))).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
  expect((await t.api('GET', '/v1/audit?action=key.rotated')).body.entries).toEqual([
    expect.objectContaining({ actor: 'env-admin', target: `key/${rotated.body.kid}`, before: expect.objectContaining({ kid: old.kid }) }),
  ]);
});

it('rotates the signing key on keys.rotate_every by itself', async () => {
  const t = await startTestAuthority({ renewIntervalMs: 20, config: { keys: { rotate_every: '1d' } } });
  const first = (await t.api('GET', '/v1/keys')).body.keys[0].kid;
  t.clock.advance(86_400_000);
  const keys = await waitFor(async () => {
    const listed = (await t.api('GET', '/v1/keys')).body.keys as { kid: string; state: string }[];
    return listed.length === 2 ? listed : undefined;
  }, { what: 'a scheduled rotation' });
  expect(keys.find((k) => k.kid === first)?.state).toBe('retired');
  expect((await t.api('GET', '/v1/audit?action=key.rotated')).body.entries[0].actor).toBe('system');
});

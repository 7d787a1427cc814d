import { describe, expect, it } from 'vitest';
import { toCachedLicense, type LicenseClaims } from '../../../src/sidecar/license.ts';
import { LicenseCache } from '../../../src/sidecar/license-cache.ts';

const t0 = 1_780_000_000;
const license = (lid: string, jti: string, iat: number, exp: number) => {
  const claims: LicenseClaims = {
    iss: 'portwarden-authority',
    sub: 'payments/api',
    aud: 'portwarden-sidecar',
    jti,
    lid,
    iat,
    nbf: iat,
    exp,
    port: { number: 8443, protocol: 'tcp' },
    allow: ['spiffe://corp/*'],
  };
  return toCachedLicense(`token-${jti}`, claims);
};

describe('LicenseCache', () => {
  it('prefers the license with the latest exp when several target a port', () => {
    const cache = new LicenseCache();
    cache.offer('api', license('a', 'a1', t0, t0 + 200));
    expect(cache.offer('api', license('b', 'b1', t0, t0 + 100))).toBeUndefined();
    expect(cache.offer('api', license('c', 'c1', t0, t0 + 300))).toMatchObject({ previous: { claims: { jti: 'a1' } }, current: { claims: { jti: 'c1' } } });
    expect(cache.get('api')?.claims.lid).toBe('c');
  });

  it('takes the newer token of the same license, even one the authority shortened', () => {
    const cache = new LicenseCache();
    cache.offer('api', license('a', 'a1', t0, t0 + 200));
    expect(cache.offer('api', license('a', 'a2', t0 + 10, t0 + 100))).toBeDefined();
    expect(cache.get('api')?.claims.jti).toBe('a2');
    expect(cache.offer('api', license('a', 'a1', t0, t0 + 200))).toBeUndefined();
  });

  it('revokes the license in force into a revoked entry, and never applies that lid again', () => {
    const cache = new LicenseCache();
    cache.offer('api', license('a', 'a1', t0, t0 + 200));
    const [change] = cache.revoke(['a', 'unrelated']);
    expect(change).toMatchObject({ portName: 'api', previous: { revoked: false }, current: { revoked: true, claims: { lid: 'a' } } });
    expect(cache.revoke(['a'])).toEqual([]);
    expect(cache.offer('api', license('a', 'a3', t0 + 20, t0 + 400))).toBeUndefined();
    expect(cache.get('api')?.revoked).toBe(true);
    // a new license replaces the revoked entry
    expect(cache.offer('api', license('b', 'b1', t0 + 20, t0 + 50))).toBeDefined();
    expect(cache.get('api')).toMatchObject({ revoked: false, claims: { lid: 'b' } });
  });

  it('removes a port with a change event', () => {
    const cache = new LicenseCache();
    cache.offer('api', license('a', 'a1', t0, t0 + 200));
    expect(cache.remove('api')).toMatchObject({ portName: 'api', current: undefined });
    expect(cache.get('api')).toBeUndefined();
    expect(cache.remove('api')).toBeUndefined();
  });
});

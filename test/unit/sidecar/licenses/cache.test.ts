import { describe, expect, it } from 'vitest';
import { toCachedLicense, type LicenseClaims } from '../../../../src/sidecar/licenses/license.ts';
import { LicenseCache } from '../../../../src/sidecar/licenses/cache.ts';

const t0 = 1_780_000_000;
const license = (lid: string, jti: string, iat: number, exp: number, number = 8443) => {
  const claims: LicenseClaims = {
    iss: 'portwarden-authority',
    sub: 'payments/api',
    aud: 'portwarden-sidecar',
    jti,
    lid,
    iat,
    nbf: iat,
    exp,
    port: { number, protocol: 'tcp' },
    allow: ['spiffe://corp/*'],
  };
  return toCachedLicense(`token-${jti}`, claims);
};

describe('LicenseCache', () => {
  it('prefers the license with the latest exp when several target a port', () => {
    const cache = new LicenseCache();
    cache.offer('api', 8443, license('a', 'a1', t0, t0 + 200));
    expect(cache.offer('api', 8443, license('b', 'b1', t0, t0 + 100))).toBeUndefined();
    expect(cache.offer('api', 8443, license('c', 'c1', t0, t0 + 300))).toMatchObject({ previous: { claims: { jti: 'a1' } }, current: { claims: { jti: 'c1' } } });
    expect(cache.get('api', 8443)?.claims.lid).toBe('c');
  });

  it('takes the newer token of the same license, even one the authority shortened', () => {
    const cache = new LicenseCache();
    cache.offer('api', 8443, license('a', 'a1', t0, t0 + 200));
    expect(cache.offer('api', 8443, license('a', 'a2', t0 + 10, t0 + 100))).toBeDefined();
    expect(cache.get('api', 8443)?.claims.jti).toBe('a2');
    expect(cache.offer('api', 8443, license('a', 'a1', t0, t0 + 200))).toBeUndefined();
  });

  it('revokes the license in force into a revoked entry, and never applies that lid again', () => {
    const cache = new LicenseCache();
    cache.offer('api', 8443, license('a', 'a1', t0, t0 + 200));
    const [change] = cache.revoke(['a', 'unrelated']);
    expect(change).toMatchObject({ portName: 'api', previous: { revoked: false }, current: { revoked: true, claims: { lid: 'a' } } });
    expect(cache.revoke(['a'])).toEqual([]);
    expect(cache.offer('api', 8443, license('a', 'a3', t0 + 20, t0 + 400))).toBeUndefined();
    expect(cache.get('api', 8443)?.revoked).toBe(true);
    // a new license replaces the revoked entry
    expect(cache.offer('api', 8443, license('b', 'b1', t0 + 20, t0 + 50))).toBeDefined();
    expect(cache.get('api', 8443)).toMatchObject({ revoked: false, claims: { lid: 'b' } });
  });

  it('keeps the latest token of every license, in force or not, for the connections it admitted', () => {
    const cache = new LicenseCache();
    cache.offer('api', 8443, license('a', 'a1', t0, t0 + 200));
    cache.offer('api', 8443, license('b', 'b1', t0, t0 + 900));
    // the renewal of a loses the number to b, which expires later, but it is still a's latest token
    expect(cache.offer('api', 8443, license('a', 'a2', t0 + 100, t0 + 300))).toBeUndefined();
    expect(cache.get('api', 8443)?.claims.lid).toBe('b');
    expect(cache.byLid('a')?.claims.jti).toBe('a2');
    expect(cache.offer('api', 8443, license('a', 'a1', t0, t0 + 200))).toBeUndefined();
    expect(cache.byLid('a')?.claims.jti).toBe('a2');
    expect(cache.byLid('b')?.claims.jti).toBe('b1');
    expect(cache.byLid('unknown')).toBeUndefined();

    // revoking a, which holds no number: no change for the port, but a is known revoked
    expect(cache.revoke(['a'])).toEqual([]);
    expect(cache.byLid('a')).toMatchObject({ revoked: true, claims: { jti: 'a2' } });
    expect(cache.get('api', 8443)).toMatchObject({ revoked: false, claims: { lid: 'b' } });
  });

  it('removes a port with a change event', () => {
    const cache = new LicenseCache();
    cache.offer('api', 8443, license('a', 'a1', t0, t0 + 200));
    expect(cache.remove('api', 8443)).toMatchObject({ portName: 'api', listenPort: 8443, current: undefined });
    expect(cache.get('api', 8443)).toBeUndefined();
    expect(cache.remove('api', 8443)).toBeUndefined();
  });

  it('keeps one license per listen number: they never compete, and a revocation touches only its own number', () => {
    const cache = new LicenseCache();
    cache.offer('api', 20001, license('old', 'o1', t0, t0 + 500, 20001));
    // a later exp on the other number does not displace the first number's license
    expect(cache.offer('api', 20050, license('new', 'n1', t0, t0 + 900, 20050))).toMatchObject({ portName: 'api', listenPort: 20050, previous: undefined });
    expect(cache.get('api', 20001)?.claims.lid).toBe('old');
    expect(cache.get('api', 20050)?.claims.lid).toBe('new');

    expect(cache.revoke(['old'])).toEqual([expect.objectContaining({ portName: 'api', listenPort: 20001, current: expect.objectContaining({ revoked: true }) })]);
    expect(cache.get('api', 20001)?.revoked).toBe(true);
    expect(cache.get('api', 20050)).toMatchObject({ revoked: false, claims: { lid: 'new' } });
    expect(cache.entries().map(({ listenPort, license: entry }) => [listenPort, entry.claims.lid, entry.revoked])).toEqual([
      [20001, 'old', true],
      [20050, 'new', false],
    ]);
  });
});

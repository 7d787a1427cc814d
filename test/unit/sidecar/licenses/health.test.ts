import { describe, expect, it } from 'vitest';
import { toCachedLicense, type LicenseClaims } from '../../../../src/sidecar/licenses/license.ts';
import { assessLicense, type HealthContext } from '../../../../src/sidecar/licenses/health.ts';

const nbf = 1_780_000_000;
const claims: LicenseClaims = {
  iss: 'portwarden-authority',
  sub: 'payments/api',
  aud: 'portwarden-sidecar',
  jti: 'j1',
  lid: 'l1',
  iat: nbf,
  nbf,
  exp: nbf + 1000,
  port: { number: 8443, protocol: 'tcp' },
  allow: [],
};
const license = toCachedLicense('t', claims);
const at = (seconds: number, extra: Partial<HealthContext> = {}): HealthContext => ({
  now: (nbf + seconds) * 1000,
  authorityReachable: true,
  expiryGraceMs: 0,
  clockToleranceMs: 0,
  ...extra,
});

describe('assessLicense', () => {
  it('is ok, then degraded in the last 20% of the lifetime, then expired at exp', () => {
    expect(assessLicense(license, at(799))).toMatchObject({ status: { health: 'ok', lid: 'l1', jti: 'j1' }, valid: true });
    expect(assessLicense(license, at(801))).toMatchObject({ status: { health: 'degraded' }, valid: true });
    expect(assessLicense(license, at(1000))).toMatchObject({ status: { health: 'expired' }, valid: false });
  });

  it('is degraded while the authority is unreachable, with graceUntil while grace admits', () => {
    const offline = { authorityReachable: false, expiryGraceMs: 60_000 };
    expect(assessLicense(license, at(10, offline))).toMatchObject({ status: { health: 'degraded' }, valid: true });
    expect(assessLicense(license, at(1030, offline))).toMatchObject({
      status: { health: 'degraded', graceUntil: new Date((nbf + 1060) * 1000).toISOString() },
      valid: true,
    });
    expect(assessLicense(license, at(1060, offline))).toMatchObject({ status: { health: 'expired' }, valid: false });
    expect(assessLicense(license, at(1030, { expiryGraceMs: 60_000 })).status.health).toBe('expired');
  });

  it('is missing without a license or after a revocation', () => {
    expect(assessLicense(undefined, at(10))).toEqual({ status: { health: 'missing' }, valid: false });
    expect(assessLicense(toCachedLicense('t', claims, true), at(10))).toMatchObject({ status: { health: 'missing', lid: 'l1' }, valid: false });
  });
});

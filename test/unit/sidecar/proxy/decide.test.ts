import { describe, expect, it } from 'vitest';
import { decide, type DecisionContext } from '../../../../src/sidecar/proxy/decide.ts';
import { toCachedLicense, type LicenseClaims } from '../../../../src/sidecar/licenses/license.ts';

const t0 = Date.UTC(2026, 5, 1) / 1000;
const claims: LicenseClaims = {
  iss: 'portwarden-authority',
  sub: 'payments/api',
  aud: 'portwarden-sidecar',
  jti: 'j1',
  lid: 'l1',
  iat: t0,
  nbf: t0,
  exp: t0 + 3600,
  port: { number: 8443, protocol: 'tcp' },
  allow: ['spiffe://corp/ns/billing/sa/api', 'spiffe://corp/ns/ops/*'],
};
const license = toCachedLicense('token', claims);
const at = (seconds: number, extra: Partial<DecisionContext> = {}): DecisionContext => ({
  now: seconds * 1000,
  clockToleranceMs: 0,
  expiryGraceMs: 0,
  authorityReachable: true,
  ...extra,
});

describe('decide', () => {
  it('admits an exact identity and a /* prefix, refuses others', () => {
    expect(decide(license, 'spiffe://corp/ns/billing/sa/api', at(t0 + 1))).toEqual({ allow: true });
    expect(decide(license, 'spiffe://corp/ns/ops/sa/runner', at(t0 + 1))).toEqual({ allow: true });
    expect(decide(license, 'spiffe://corp/ns/ops/', at(t0 + 1))).toEqual({ allow: false, reason: 'identity_not_allowed' });
    expect(decide(license, 'spiffe://corp/ns/opsx/sa/a', at(t0 + 1))).toEqual({ allow: false, reason: 'identity_not_allowed' });
    expect(decide(license, 'spiffe://corp/ns/billing/sa/api2', at(t0 + 1))).toEqual({ allow: false, reason: 'identity_not_allowed' });
  });

  it('gives every deny reason it owns', () => {
    expect(decide(undefined, 'x', at(t0))).toEqual({ allow: false, reason: 'no_license' });
    expect(decide(license, undefined, at(t0))).toEqual({ allow: false, reason: 'no_identity' });
    expect(decide(license, 'spiffe://corp/ns/ops/a', at(t0 - 1))).toEqual({ allow: false, reason: 'not_yet_valid' });
    expect(decide(toCachedLicense('t', claims, true), 'spiffe://corp/ns/ops/a', at(t0 + 1))).toEqual({ allow: false, reason: 'revoked' });
  });

  it('refuses exactly at exp, and one millisecond before admits', () => {
    const id = 'spiffe://corp/ns/ops/a';
    expect(decide(license, id, { ...at(0), now: claims.exp * 1000 - 1 }).allow).toBe(true);
    expect(decide(license, id, at(claims.exp))).toEqual({ allow: false, reason: 'expired' });
  });

  it('extends past exp by the grace only while the authority is unreachable', () => {
    const id = 'spiffe://corp/ns/ops/a';
    const grace = { expiryGraceMs: 60_000 };
    expect(decide(license, id, at(claims.exp + 30, { ...grace, authorityReachable: false })).allow).toBe(true);
    expect(decide(license, id, at(claims.exp + 30, { ...grace, authorityReachable: true }))).toEqual({ allow: false, reason: 'expired' });
    expect(decide(license, id, at(claims.exp + 60, { ...grace, authorityReachable: false }))).toEqual({ allow: false, reason: 'expired' });
  });

  it('never lets grace outlive a revocation', () => {
    const revoked = toCachedLicense('t', claims, true);
    expect(decide(revoked, 'spiffe://corp/ns/ops/a', at(claims.exp + 1, { expiryGraceMs: 60_000, authorityReachable: false }))).toEqual({
      allow: false,
      reason: 'revoked',
    });
  });

  it('tolerates bounded skew on nbf', () => {
    expect(decide(license, 'spiffe://corp/ns/ops/a', at(t0 - 20, { clockToleranceMs: 30_000 })).allow).toBe(true);
    expect(decide(license, 'spiffe://corp/ns/ops/a', at(t0 - 40, { clockToleranceMs: 30_000 })).allow).toBe(false);
  });
});

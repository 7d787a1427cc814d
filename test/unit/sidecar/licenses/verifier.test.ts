import { createLocalJWKSet } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../../src/shared/clock.ts';
import { verifyLicense, type VerifyTarget } from '../../../../src/sidecar/licenses/verifier.ts';
import { FakeAuthority } from '../../../helpers/fake-authority.ts';

const clock = new ManualClock();
let authority: FakeAuthority;
beforeAll(async () => {
  authority = await FakeAuthority.start({ clock });
});
afterAll(() => authority.close());

const target = (ports: Record<string, number | number[]>): VerifyTarget => ({
  service: 'payments',
  ports: new Map(Object.entries(ports)),
  issuer: 'portwarden-authority',
  clockToleranceMs: 30_000,
});
const keys = () => createLocalJWKSet(authority.jwks);

describe('verifyLicense', () => {
  it('accepts a genuine token and compiles its claims', async () => {
    const token = await authority.mint({ service: 'payments', port: 'api', number: 8443, allow: ['spiffe://corp/ns/a/*'] });
    const verdict = await verifyLicense(token, keys(), target({ api: 8443 }), clock);
    expect(verdict).toMatchObject({ ok: true, portName: 'api', license: { revoked: false, allowPrefixes: ['spiffe://corp/ns/a/'] } });
  });

  it('skips the number check for a port listening on 0, and checks it otherwise', async () => {
    const token = await authority.mint({ service: 'payments', port: 'api', number: 20001 });
    expect((await verifyLicense(token, keys(), target({ api: 0 }), clock)).ok).toBe(true);
    expect(await verifyLicense(token, keys(), target({ api: 8443 }), clock)).toMatchObject({ ok: false, reason: 'port', portName: 'api' });
  });

  it('files a license under the listen number it names when the port listens on several, and refuses other numbers', async () => {
    const both = target({ api: [20001, 20050] });
    const forOld = await authority.mint({ service: 'payments', port: 'api', number: 20001 });
    const forNew = await authority.mint({ service: 'payments', port: 'api', number: 20050 });
    expect(await verifyLicense(forOld, keys(), both, clock)).toMatchObject({ ok: true, portName: 'api', listenPort: 20001 });
    expect(await verifyLicense(forNew, keys(), both, clock)).toMatchObject({ ok: true, portName: 'api', listenPort: 20050 });
    const elsewhere = await authority.mint({ service: 'payments', port: 'api', number: 20099 });
    expect(await verifyLicense(elsewhere, keys(), both, clock)).toMatchObject({
      ok: false,
      reason: 'port',
      detail: 'license is for port number 20099, the port listens on 20001 and 20050',
    });
    // an ephemeral listener beside a fixed number takes the numbers the port does not list
    expect(await verifyLicense(elsewhere, keys(), target({ api: [20001, 0] }), clock)).toMatchObject({ ok: true, listenPort: 0 });
    expect(await verifyLicense(forOld, keys(), target({ api: [20001, 0] }), clock)).toMatchObject({ ok: true, listenPort: 20001 });
  });

  it('files a license for another number under that number for a port that follows transitions, and only for it', async () => {
    const moved = await authority.mint({ service: 'payments', port: 'api', number: 20050 });
    const following: VerifyTarget = { ...target({ api: 20001, grpc: 9000 }), follows: new Set(['api']) };
    expect(await verifyLicense(moved, keys(), following, clock)).toMatchObject({ ok: true, portName: 'api', listenPort: 20050 });
    const forGrpc = await authority.mint({ service: 'payments', port: 'grpc', number: 9001 });
    expect(await verifyLicense(forGrpc, keys(), following, clock)).toMatchObject({ ok: false, reason: 'port', portName: 'grpc' });
  });

  it("leaves this service's tokens for ports it does not configure unapplied, without a refusal", async () => {
    const token = await authority.mint({ service: 'payments', port: 'grpc', number: 9000 });
    expect(await verifyLicense(token, keys(), target({ api: 8443 }), clock)).toEqual({ ok: false, unconfigured: true, portName: 'grpc' });
  });

  it('refuses a token without kid, and garbage, by reason', async () => {
    const token = await authority.mint({ service: 'payments', port: 'api', number: 8443, header: { kid: '' } });
    expect(await verifyLicense(token, keys(), target({ api: 8443 }), clock)).toMatchObject({ ok: false, reason: 'kid' });
    expect(await verifyLicense('not.a.jwt', keys(), target({ api: 8443 }), clock)).toMatchObject({ ok: false, reason: 'malformed' });
  });

  it('tolerates bounded skew on nbf and exp', async () => {
    const early = await authority.mint({ service: 'payments', port: 'api', number: 8443, nbfOffsetMs: 20_000 });
    expect((await verifyLicense(early, keys(), target({ api: 8443 }), clock)).ok).toBe(true);
    const tooEarly = await authority.mint({ service: 'payments', port: 'api', number: 8443, nbfOffsetMs: 60_000 });
    expect(await verifyLicense(tooEarly, keys(), target({ api: 8443 }), clock)).toMatchObject({ ok: false, reason: 'nbf' });
  });

  it('loads an expired cached token only when told to (last-known-good), so the decision can say expired', async () => {
    const token = await authority.mint({ service: 'payments', port: 'api', number: 8443, iatOffsetMs: -7_200_000, ttlMs: 3_600_000 });
    expect(await verifyLicense(token, keys(), target({ api: 8443 }), clock)).toMatchObject({ ok: false, reason: 'exp' });
    expect(await verifyLicense(token, keys(), target({ api: 8443 }), clock, { allowExpired: true })).toMatchObject({ ok: true });
    const forged = await authority.mint({ service: 'payments', port: 'api', number: 8443, iatOffsetMs: -7_200_000, forge: 'tampered' });
    expect(await verifyLicense(forged, keys(), target({ api: 8443 }), clock, { allowExpired: true })).toMatchObject({ ok: false, reason: 'signature' });
  });
});

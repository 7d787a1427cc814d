import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { decide } from '../src/sidecar/proxy/decide.ts';
import { toCachedLicense, type LicenseClaims } from '../src/sidecar/licenses/license.ts';

/**
 * Micro benchmarks: the per-connection decision alone (ns/op), and a full license
 * verification (ops/s) — the cost the sidecar pays once per token instead of per connection.
 */
export async function microBenchmarks(smoke: boolean): Promise<string[]> {
  const now = Math.floor(Date.now() / 1000);
  const claims: LicenseClaims = {
    iss: 'portwarden-authority',
    sub: 'bench/api',
    aud: 'portwarden-sidecar',
    jti: 'j',
    lid: 'l',
    iat: now,
    nbf: now,
    exp: now + 3600,
    port: { number: 8443, protocol: 'tcp' },
    allow: ['spiffe://bench/ns/a/sa/one', 'spiffe://bench/ns/b/*', ...Array.from({ length: 30 }, (_, i) => `spiffe://bench/ns/x/sa/${i}`)],
  };
  const license = toCachedLicense('token', claims);
  const ctx = { now: Date.now(), clockToleranceMs: 30_000, expiryGraceMs: 0, authorityReachable: true };
  const identities = ['spiffe://bench/ns/a/sa/one', 'spiffe://bench/ns/b/sa/two', 'spiffe://bench/ns/c/sa/three'];
  const iterations = smoke ? 100_000 : 5_000_000;
  let allowed = 0;
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) if (decide(license, identities[i % 3], ctx).allow) allowed++;
  const nsPerOp = Number(process.hrtime.bigint() - started) / iterations;
  if (allowed === 0) throw new Error('decision benchmark admitted nothing');

  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'EdDSA' };
  const token = await new SignJWT({ ...claims })
    .setProtectedHeader({ alg: 'EdDSA', typ: 'portwarden-license+jwt', kid: 'k1' })
    .sign(privateKey);
  const keys = createLocalJWKSet({ keys: [jwk] });
  const verifications = smoke ? 200 : 5_000;
  const verifyStarted = process.hrtime.bigint();
  for (let i = 0; i < verifications; i++) {
    await jwtVerify(token, keys, { algorithms: ['EdDSA'], typ: 'portwarden-license+jwt', issuer: claims.iss, audience: 'portwarden-sidecar' });
  }
  const verifyPerSec = verifications / (Number(process.hrtime.bigint() - verifyStarted) / 1e9);
  return [
    '| micro | result |',
    '| --- | ---: |',
    `| decide() with a 32-entry allow list | ${nsPerOp.toFixed(0)} ns/op |`,
    `| license verification (jose, EdDSA) | ${verifyPerSec.toFixed(0)} ops/s |`,
  ];
}

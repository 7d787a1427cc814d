import { generateKeyPairSync } from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import type { Clock } from '../../shared/clock.ts';
import { appendAudit, systemActor, type Actor } from '../audit/log.ts';
import type { KeyRow } from '../store/keys.ts';
import type { StoreTx } from '../store/store.ts';

/** A signing key as `GET /v1/keys` shows it; never the private half. */
export interface KeyView {
  kid: string;
  alg: 'EdDSA';
  state: 'active' | 'retired';
  created_at: string;
  retired_at: string | null;
  /** Latest `exp` of a token it signed; a retired key leaves the JWKS after this. */
  last_token_expires_at: string | null;
  published: boolean;
}

/** Makes a fresh Ed25519 key; its `kid` is the RFC 7638 thumbprint of the public JWK. */
export async function generateSigningKey(now: number): Promise<KeyRow> {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const jwk = publicKey.export({ format: 'jwk' });
  const publicJwk = { kty: String(jwk.kty), crv: String(jwk.crv), x: String(jwk.x) };
  return {
    kid: await calculateJwkThumbprint(publicJwk),
    alg: 'EdDSA',
    publicJwk,
    privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    createdAt: now,
    retiredAt: null,
    lastExp: 0,
  };
}

/** True while the key belongs in the JWKS: it signs now, or a token it signed has not expired. */
export function isPublished(key: KeyRow, now: number): boolean {
  return key.retiredAt === null || key.lastExp > now;
}

export function keyView(key: KeyRow, now: number): KeyView {
  return {
    kid: key.kid,
    alg: key.alg,
    state: key.retiredAt === null ? 'active' : 'retired',
    created_at: new Date(key.createdAt).toISOString(),
    retired_at: key.retiredAt === null ? null : new Date(key.retiredAt).toISOString(),
    last_token_expires_at: key.lastExp > 0 ? new Date(key.lastExp).toISOString() : null,
    published: isPublished(key, now),
  };
}

/** The signing key in force, made (and audited) on first start. */
export async function ensureActiveKey(tx: StoreTx, clock: Clock): Promise<KeyRow> {
  const active = await tx.keys.active();
  if (active) return active;
  const key = await generateSigningKey(clock.now());
  await tx.keys.insert(key);
  await appendAudit(tx, clock, systemActor, { action: 'key.created', target: `key/${key.kid}`, after: keyView(key, clock.now()) });
  return key;
}

/**
 * Retires the active key and makes a new one that signs from now on. The retired key stays in
 * the JWKS until the last token it signed expires, so nothing already issued stops verifying.
 */
export async function rotateKey(tx: StoreTx, clock: Clock, actor: Actor): Promise<{ active: KeyRow; retired: KeyRow | undefined }> {
  const now = clock.now();
  const previous = await tx.keys.active();
  const key = await generateSigningKey(now);
  if (previous) await tx.keys.retire(previous.kid, now);
  await tx.keys.insert(key);
  const retired = previous ? { ...previous, retiredAt: now } : undefined;
  await appendAudit(tx, clock, actor, {
    action: 'key.rotated',
    target: `key/${key.kid}`,
    before: retired ? keyView(retired, now) : null,
    after: keyView(key, now),
  });
  return { active: key, retired };
}

/** True when the active key is older than `rotateEveryMs` (0 turns scheduled rotation off). */
export function isRotationDue(key: KeyRow, rotateEveryMs: number, now: number): boolean {
  return rotateEveryMs > 0 && now >= key.createdAt + rotateEveryMs;
}

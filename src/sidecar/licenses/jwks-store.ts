// jose's entry points, not its index: the sidecar loads only what verifies a license
import type { JSONWebKeySet, JWK, JWTVerifyGetKey } from 'jose';
import { JWKSNoMatchingKey } from 'jose/errors';
import { createLocalJWKSet } from 'jose/jwks/local';
import type { Clock } from '../../shared/clock.ts';
import { PortwardenError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';

/** An unknown `kid` refetches the JWKS at most once per this long, so forged kids cannot hammer the authority. */
export const JWKS_COOLDOWN_MS = 30_000;
/** Keys are refetched at least this often, so a key the authority retired stops verifying. */
export const JWKS_MAX_AGE_MS = 3_600_000;

export interface JwksStoreOptions {
  /** GETs the authority's `/.well-known/jwks.json` body. */
  fetchJwks: (signal: AbortSignal) => Promise<unknown>;
  clock: Clock;
  logger: Logger;
  cooldownMs?: number;
  maxAgeMs?: number;
}

/**
 * The verification keys: the authority's JWKS, kept to Ed25519 signing keys with a `kid`, as a
 * jose local key set. Loaded from last-known-good at start, fetched from the authority, and
 * refetched on an unknown `kid` (rotation) at most once per cool-down.
 */
export class JwksStore {
  readonly #options: JwksStoreOptions;
  readonly #cooldownMs: number;
  readonly #maxAgeMs: number;
  #jwks: JSONWebKeySet | undefined;
  #resolver: JWTVerifyGetKey = noKeys;
  #fetchedAt = Number.NEGATIVE_INFINITY;
  #kidRefreshAt = Number.NEGATIVE_INFINITY;

  constructor(options: JwksStoreOptions) {
    this.#options = options;
    this.#cooldownMs = options.cooldownMs ?? JWKS_COOLDOWN_MS;
    this.#maxAgeMs = options.maxAgeMs ?? JWKS_MAX_AGE_MS;
  }

  /** The current key set (what last-known-good stores beside the tokens), if any. */
  get jwks(): JSONWebKeySet | undefined {
    return this.#jwks;
  }

  /** The jose key resolver over the current set; it fails with `ERR_JWKS_NO_MATCHING_KEY` while empty. */
  readonly keys: JWTVerifyGetKey = (header, token) => this.#resolver(header, token);

  hasKid(kid: string): boolean {
    return this.#jwks?.keys.some((key) => key.kid === kid) ?? false;
  }

  /** True when there are no keys yet or they were fetched longer ago than the max age. */
  get stale(): boolean {
    return this.#jwks === undefined || this.#options.clock.now() - this.#fetchedAt >= this.#maxAgeMs;
  }

  /** Installs a cached set (last-known-good). It counts as stale, so the next round refetches it. */
  load(jwks: unknown): void {
    this.#install(sanitize(jwks));
  }

  /** Fetches the authority's set. Returns true when the keys changed. Network errors propagate. */
  async refresh(signal: AbortSignal): Promise<boolean> {
    const fetched = sanitize(await this.#options.fetchJwks(signal));
    this.#fetchedAt = this.#options.clock.now();
    const changed = JSON.stringify(fetched) !== JSON.stringify(this.#jwks);
    if (changed) {
      this.#install(fetched);
      this.#options.logger.info({ kids: fetched.keys.map((key) => key.kid) }, 'verification keys updated');
    }
    return changed;
  }

  /**
   * A token named a `kid` we do not hold: refetch once per cool-down (the authority may have
   * rotated). Returns whether a refetch changed the keys; false inside the cool-down.
   */
  async refreshForKid(kid: string, signal: AbortSignal): Promise<boolean> {
    if (this.hasKid(kid)) return false;
    const now = this.#options.clock.now();
    if (now - this.#kidRefreshAt < this.#cooldownMs) return false;
    this.#kidRefreshAt = now;
    this.#options.logger.debug({ kid }, 'unknown kid, refetching verification keys');
    return this.refresh(signal);
  }

  #install(jwks: JSONWebKeySet): void {
    this.#jwks = jwks;
    this.#resolver = createLocalJWKSet(jwks);
  }
}

const noKeys: JWTVerifyGetKey = () => Promise.reject(new JWKSNoMatchingKey());

/** Keeps public Ed25519 signing keys with a kid; anything else in the set is not ours to trust. */
function sanitize(value: unknown): JSONWebKeySet {
  const keys = (value as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new PortwardenError('authority_bad_response', 'JWKS has no "keys" array');
  const usable = keys.filter(
    (key: Partial<JWK> | null): key is JWK =>
      typeof key === 'object' &&
      key !== null &&
      key.kty === 'OKP' &&
      key.crv === 'Ed25519' &&
      typeof key.x === 'string' &&
      key.d === undefined &&
      typeof key.kid === 'string' &&
      key.kid !== '' &&
      (key.alg === undefined || key.alg === 'EdDSA') &&
      (key.use === undefined || key.use === 'sig'),
  );
  if (usable.length === 0) throw new PortwardenError('authority_bad_response', 'JWKS holds no Ed25519 signing key with a kid');
  return { keys: usable.map(({ kty, crv, x, kid, alg, use }) => ({ kty, crv, x, kid, alg: alg ?? 'EdDSA', use: use ?? 'sig' })) };
}

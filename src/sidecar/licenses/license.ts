import type { LicenseClaims } from '../../shared/license-claims.ts';

export type { LicenseClaims };

/**
 * A license as the per-connection decision reads it: verified once on arrival, with the allow
 * list compiled so matching an identity is a Set lookup plus a short prefix scan.
 */
export interface CachedLicense {
  readonly token: string;
  readonly claims: LicenseClaims;
  readonly nbfMs: number;
  readonly expMs: number;
  /** True once the authority reported this `lid` revoked; kept so the deny reason says `revoked`. */
  readonly revoked: boolean;
  readonly allowExact: ReadonlySet<string>;
  /** `spiffe://corp/ns/billing/*` is kept as `spiffe://corp/ns/billing/`. */
  readonly allowPrefixes: readonly string[];
}

/** Builds the cached form of verified claims. */
export function toCachedLicense(token: string, claims: LicenseClaims, revoked = false): CachedLicense {
  const allowExact = new Set<string>();
  const allowPrefixes: string[] = [];
  for (const entry of claims.allow) {
    if (entry.endsWith('/*')) allowPrefixes.push(entry.slice(0, -1));
    else allowExact.add(entry);
  }
  return { token, claims, nbfMs: claims.nbf * 1000, expMs: claims.exp * 1000, revoked, allowExact, allowPrefixes };
}

/** True when `identity` is listed exactly or falls under a `/*` prefix. */
export function isIdentityAllowed(license: CachedLicense, identity: string): boolean {
  if (license.allowExact.has(identity)) return true;
  for (const prefix of license.allowPrefixes) {
    if (identity.length > prefix.length && identity.startsWith(prefix)) return true;
  }
  return false;
}

import type { X509Certificate } from 'node:crypto';
import { DerError, uriSans } from './x509-san.ts';

// SPIFFE ID rules (github.com/spiffe/spiffe standards/SPIFFE-ID.md §2, X509-SVID.md §3.1, §5.2):
// scheme `spiffe`; a trust domain of [a-z0-9._-], at most 255 bytes, with no userinfo or port;
// a leaf's path is non-root, its segments non-empty [A-Za-z0-9._-] and never `.` or `..`; no
// query or fragment; at most 2048 bytes. The character sets leave no room for `@`, `:`, `?`,
// `#`, `%` or whitespace, so what passes is also safe in logs, labels and license matching.
const maxIdLength = 2048;
const spiffeId = /^spiffe:\/\/[a-z0-9._-]{1,255}(?:\/[A-Za-z0-9._-]+)+$/;
const dotSegment = /\/\.\.?(?:\/|$)/;

/** True when `uri` is a SPIFFE ID that may name a workload (a leaf SVID's: it has a path). */
export function isWorkloadSpiffeId(uri: string): boolean {
  return uri.length <= maxIdLength && spiffeId.test(uri) && !dotSegment.test(uri);
}

/**
 * The workload identity in the DER certificate `der`: its single URI SAN, when that is a SPIFFE
 * ID (an X509-SVID has exactly one). No URI SAN, several, one that is not a SPIFFE ID, or DER
 * that cannot be read give undefined — the decision then denies with `no_identity` rather than
 * guessing which one counts.
 */
export function identityFromDer(der: Uint8Array): string | undefined {
  let uris: string[];
  try {
    uris = uriSans(der);
  } catch (err) {
    if (err instanceof DerError) return undefined;
    throw err;
  }
  const [uri] = uris;
  return uris.length === 1 && uri !== undefined && isWorkloadSpiffeId(uri) ? uri : undefined;
}

/** The workload identity of `cert` (see identityFromDer); undefined without a certificate. */
export function certificateIdentity(cert: X509Certificate | undefined): string | undefined {
  return cert ? identityFromDer(cert.raw) : undefined;
}

/**
 * True when `identity` matches `pattern`: exactly, or under a SPIFFE prefix written with a
 * trailing `/*` (`spiffe://corp/ns/billing/*` matches `spiffe://corp/ns/billing/sa/api`, not
 * `spiffe://corp/ns/billing` itself) — the same rule as a license's `allow` list.
 */
export function identityMatches(pattern: string, identity: string): boolean {
  if (!pattern.endsWith('/*')) return pattern === identity;
  const prefix = pattern.slice(0, -1);
  return identity.length > prefix.length && identity.startsWith(prefix);
}

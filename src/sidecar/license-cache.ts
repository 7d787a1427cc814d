import { LRUCache } from 'lru-cache';
import { toCachedLicense, type CachedLicense } from './license.ts';
import type { LicenseChange } from './license-source.ts';

/** Ports are bounded by the configuration; this only guards memory against a runaway caller. */
const MAX_PORTS = 65_536;
/** Revoked lids remembered so a revoked license is never re-applied from a stale listing or cache. */
const MAX_REVOKED = 100_000;

/**
 * The verified license in force per port, read by `get` on every connection (a map lookup).
 * Which token wins for a port:
 * - a revoked `lid` never wins; revoking the license in force replaces it with a revoked entry,
 *   so the decision says `revoked`;
 * - the same `lid` (a renewal): the token issued later wins, so a renewal replaces the entry in
 *   one step and no connection sees a gap;
 * - another `lid`: the one with the later `exp` wins.
 */
export class LicenseCache {
  readonly #byPort = new LRUCache<string, CachedLicense>({ max: MAX_PORTS });
  readonly #revoked = new LRUCache<string, true>({ max: MAX_REVOKED });

  get(portName: string): CachedLicense | undefined {
    return this.#byPort.get(portName);
  }

  isRevoked(lid: string): boolean {
    return this.#revoked.has(lid);
  }

  /** Offers a verified license for a port; returns the change when it took the port's place. */
  offer(portName: string, candidate: CachedLicense): LicenseChange | undefined {
    if (candidate.revoked || this.#revoked.has(candidate.claims.lid)) return undefined;
    const current = this.#byPort.get(portName);
    if (current !== undefined && !current.revoked && !wins(candidate, current)) return undefined;
    return this.#set(portName, current, candidate);
  }

  /** Marks lids revoked; every port whose license in force has one of them gets a revoked entry. */
  revoke(lids: Iterable<string>): LicenseChange[] {
    const fresh = new Set<string>();
    for (const lid of lids) {
      if (!this.#revoked.has(lid)) fresh.add(lid);
      this.#revoked.set(lid, true);
    }
    if (fresh.size === 0) return [];
    const changes: LicenseChange[] = [];
    for (const [portName, current] of this.#byPort.entries()) {
      if (current.revoked || !fresh.has(current.claims.lid)) continue;
      changes.push(this.#set(portName, current, toCachedLicense(current.token, current.claims, true)));
    }
    return changes;
  }

  /** Drops a port (removed from the configuration, or its listen number changed). */
  remove(portName: string): LicenseChange | undefined {
    const previous = this.#byPort.get(portName);
    if (previous === undefined) return undefined;
    this.#byPort.delete(portName);
    return { portName, previous, current: undefined };
  }

  /** Every port's entry, revoked ones included. */
  entries(): [string, CachedLicense][] {
    return [...this.#byPort.entries()];
  }

  /** Every lid known to be revoked (for last-known-good). */
  revokedLids(): string[] {
    return [...this.#revoked.keys()];
  }

  #set(portName: string, previous: CachedLicense | undefined, current: CachedLicense): LicenseChange {
    this.#byPort.set(portName, current);
    return { portName, previous, current };
  }
}

function wins(candidate: CachedLicense, current: CachedLicense): boolean {
  const a = candidate.claims;
  const b = current.claims;
  if (a.jti === b.jti) return false;
  if (a.lid === b.lid) return a.iat > b.iat || (a.iat === b.iat && a.exp > b.exp);
  return a.exp > b.exp;
}

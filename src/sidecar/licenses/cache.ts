import { BoundedLru } from '../../shared/bounded-lru.ts';
import { toCachedLicense, type CachedLicense } from './license.ts';
import type { LicenseChange } from './source.ts';

/** Revoked lids remembered so a revoked license is never re-applied from a stale listing or cache. */
const MAX_REVOKED = 100_000;
/** Licenses whose latest token is remembered for the connections they admitted (`byLid`); the oldest arrivals go first. */
const MAX_LIDS = 10_000;

/** One license in force: its port, the listen number it serves, and the license. */
export interface CacheEntry {
  portName: string;
  listenPort: number;
  license: CachedLicense;
}

/**
 * The verified license in force per port and listen number, read by `get` on every connection
 * (two map lookups). A port listening on several numbers (a transition) holds one license per
 * number; numbers never compete. Which token wins for a number:
 * - a revoked `lid` never wins; revoking the license in force replaces it with a revoked entry,
 *   so the decision says `revoked`;
 * - the same `lid` (a renewal): the token issued later wins, so a renewal replaces the entry in
 *   one step and no connection sees a gap;
 * - another `lid`: the one with the later `exp` wins.
 *
 * Only licenses for configured ports and numbers are offered (the verifier refuses the rest), so
 * the entries are bounded by the configuration.
 *
 * Besides, the latest token of every license offered, in force or not (`byLid`): the connections
 * a license admitted live by it, not by whichever license holds their number now.
 */
export class LicenseCache {
  readonly #byPort = new Map<string, Map<number, CachedLicense>>();
  readonly #revoked = new BoundedLru<string, true>({ max: MAX_REVOKED });
  readonly #latest = new BoundedLru<string, CachedLicense>({ max: MAX_LIDS });

  get(portName: string, listenPort: number): CachedLicense | undefined {
    return this.#byPort.get(portName)?.get(listenPort);
  }

  /** The listen numbers `portName` holds an entry for, revoked ones included. */
  numbers(portName: string): number[] {
    return [...(this.#byPort.get(portName)?.keys() ?? [])];
  }

  isRevoked(lid: string): boolean {
    return this.#revoked.has(lid);
  }

  /**
   * The latest token offered for license `lid`, whether or not it holds a number (a renewal that
   * loses its number to a license expiring later is still the renewal of the connections its
   * lid admitted), marked revoked once the lid is. For the periodic pass over open connections.
   */
  byLid(lid: string): CachedLicense | undefined {
    // peek: lookups from the pass leave the eviction order to arrivals
    return this.#latest.peek(lid);
  }

  /** Offers a verified license for a port's listen number; returns the change when it took that number's place. */
  offer(portName: string, listenPort: number, candidate: CachedLicense): LicenseChange | undefined {
    const lid = candidate.claims.lid;
    if (candidate.revoked || this.#revoked.has(lid)) return undefined;
    const known = this.#latest.peek(lid);
    if (known === undefined || wins(candidate, known)) this.#latest.set(lid, candidate);
    const current = this.get(portName, listenPort);
    if (current !== undefined && !current.revoked && !wins(candidate, current)) return undefined;
    return this.#set(portName, listenPort, current, candidate);
  }

  /** Marks lids revoked; every number whose license in force has one of them gets a revoked entry. */
  revoke(lids: Iterable<string>): LicenseChange[] {
    const fresh = new Set<string>();
    for (const lid of lids) {
      if (!this.#revoked.has(lid)) fresh.add(lid);
      this.#revoked.set(lid, true);
      const known = this.#latest.peek(lid);
      if (known !== undefined && !known.revoked) this.#latest.set(lid, toCachedLicense(known.token, known.claims, true));
    }
    if (fresh.size === 0) return [];
    const changes: LicenseChange[] = [];
    for (const { portName, listenPort, license } of this.entries()) {
      if (license.revoked || !fresh.has(license.claims.lid)) continue;
      changes.push(this.#set(portName, listenPort, license, toCachedLicense(license.token, license.claims, true)));
    }
    return changes;
  }

  /** Drops a port's number (removed from the configuration). */
  remove(portName: string, listenPort: number): LicenseChange | undefined {
    const numbers = this.#byPort.get(portName);
    const previous = numbers?.get(listenPort);
    if (numbers === undefined || previous === undefined) return undefined;
    numbers.delete(listenPort);
    if (numbers.size === 0) this.#byPort.delete(portName);
    return { portName, listenPort, previous, current: undefined };
  }

  /** Every entry, revoked ones included. */
  entries(): CacheEntry[] {
    const entries: CacheEntry[] = [];
    for (const [portName, numbers] of this.#byPort) {
      for (const [listenPort, license] of numbers) entries.push({ portName, listenPort, license });
    }
    return entries;
  }

  /** Every lid known to be revoked (for last-known-good). */
  revokedLids(): string[] {
    return [...this.#revoked.keys()];
  }

  #set(portName: string, listenPort: number, previous: CachedLicense | undefined, current: CachedLicense): LicenseChange {
    let numbers = this.#byPort.get(portName);
    if (numbers === undefined) this.#byPort.set(portName, (numbers = new Map()));
    numbers.set(listenPort, current);
    return { portName, listenPort, previous, current };
  }
}

function wins(candidate: CachedLicense, current: CachedLicense): boolean {
  const a = candidate.claims;
  const b = current.claims;
  if (a.jti === b.jti) return false;
  if (a.lid === b.lid) return a.iat > b.iat || (a.iat === b.iat && a.exp > b.exp);
  return a.exp > b.exp;
}

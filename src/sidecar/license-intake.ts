import { createHash } from 'node:crypto';
import { decodeProtectedHeader } from 'jose';
import { LRUCache } from 'lru-cache';
import type { Clock } from '../shared/clock.ts';
import type { Logger } from '../shared/logger.ts';
import type { JwksStore } from './jwks-store.ts';
import type { LicenseCache } from './license-cache.ts';
import type { LicenseChange } from './license-source.ts';
import { verifyLicense, type RejectReason, type VerifyTarget } from './license-verifier.ts';
import type { SidecarMetrics } from './metrics.ts';

/** A token as a listing (or last-known-good) carries it. */
export interface ListedToken {
  lid: string;
  token: string;
}

type Refusal = { readonly ok: false; readonly reason: RejectReason; readonly detail: string; readonly portName?: string };

export interface LicenseIntakeOptions {
  cache: LicenseCache;
  jwks: JwksStore;
  clock: Clock;
  logger: Logger;
  metrics: Pick<SidecarMetrics, 'licenseRejectedTotal'>;
}

/**
 * Where tokens enter the cache: each is verified once, refused ones are logged and counted
 * (once per token: a listing repeats them every round), an unknown `kid` may refetch the keys,
 * and accepted ones are offered to the cache. Keeps, per port, why the latest listing's token
 * for it was refused (`status().problem`).
 */
export class LicenseIntake {
  readonly #options: LicenseIntakeOptions;
  readonly #problems = new Map<string, string>();
  // refusals that stay refusals (all but nbf), by token hash
  readonly #refused = new LRUCache<string, Refusal>({ max: 1_000 });

  constructor(options: LicenseIntakeOptions) {
    this.#options = options;
  }

  /** Why the latest token for `portName` was not applied, if it was refused. */
  problem(portName: string): string | undefined {
    return this.#problems.get(portName);
  }

  /** Forgets remembered refusals: the ports or keys they were judged against changed. */
  forgetVerdicts(): void {
    this.#refused.clear();
    this.#problems.clear();
  }

  /**
   * Judges `tokens` against `target` and offers the good ones to the cache; returns the cache
   * changes. `fromCache` marks last-known-good: expired tokens still load, no key refetch.
   * A failed key refetch (network) propagates, so the caller retries the whole listing.
   */
  async apply(tokens: readonly ListedToken[], target: VerifyTarget, { fromCache, signal }: { fromCache: boolean; signal: AbortSignal }): Promise<LicenseChange[]> {
    const { cache, logger } = this.#options;
    const inForce = new Set(cache.entries().map(([, license]) => license.token));
    const problems = new Map<string, string>();
    const changes: LicenseChange[] = [];
    for (const { lid, token } of tokens) {
      if (cache.isRevoked(lid) || inForce.has(token)) continue;
      const verdict = await this.#verify(token, target, fromCache, signal);
      if (verdict.ok) {
        const change = cache.offer(verdict.portName, verdict.license);
        if (change) changes.push(change);
      } else if ('unconfigured' in verdict) {
        logger.debug({ port: verdict.portName, lid }, 'license for a port this sidecar does not configure');
      } else if (verdict.portName !== undefined) {
        problems.set(verdict.portName, `token ${lid} refused (${verdict.reason}): ${verdict.detail}`);
      }
    }
    for (const name of target.ports.keys()) {
      const problem = problems.get(name);
      if (problem === undefined) this.#problems.delete(name);
      else this.#problems.set(name, problem);
    }
    return changes;
  }

  async #verify(token: string, target: VerifyTarget, fromCache: boolean, signal: AbortSignal) {
    const { jwks, clock, logger, metrics } = this.#options;
    const hash = createHash('sha256').update(token).digest('base64url');
    const known = this.#refused.get(hash);
    if (known) return known;
    let verdict = await verifyLicense(token, jwks.keys, target, clock, { allowExpired: fromCache });
    if (!verdict.ok && 'reason' in verdict && verdict.reason === 'kid' && !fromCache) {
      // the authority may have rotated keys: refetch once per cool-down, then judge again
      const kid = decodeProtectedHeader(token).kid;
      if (typeof kid === 'string' && (await jwks.refreshForKid(kid, signal))) {
        this.#refused.clear();
        verdict = await verifyLicense(token, jwks.keys, target, clock);
      }
    }
    if (!verdict.ok && 'reason' in verdict) {
      if (verdict.reason !== 'nbf') this.#refused.set(hash, verdict);
      metrics.licenseRejectedTotal.inc({ reason: verdict.reason });
      logger.warn(
        { reason: verdict.reason, port: verdict.portName, source: fromCache ? 'cache' : 'authority', detail: verdict.detail },
        'license token refused',
      );
    }
    return verdict;
  }
}

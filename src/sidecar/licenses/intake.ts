import { createHash } from 'node:crypto';
// jose's entry points, not its index: the sidecar loads only what verifies a license
import { decodeProtectedHeader } from 'jose/decode/protected_header';
import { BoundedLru } from '../../shared/bounded-lru.ts';
import type { Clock } from '../../shared/clock.ts';
import type { Logger } from '../../shared/logger.ts';
import type { JwksStore } from './jwks-store.ts';
import type { LicenseCache } from './cache.ts';
import type { LicenseChange } from './source.ts';
import type { CachedLicense } from './license.ts';
import { verifyLicense, type RejectReason, type Unconfigured, type Verdict, type VerifyTarget } from './verifier.ts';
import type { SidecarMetrics } from '../admin/metrics.ts';

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
 * and accepted ones are offered to the cache under the listen number they are for. Keeps, per
 * port, why the latest listing's token for it was refused (`status().problem`).
 */
export class LicenseIntake {
  readonly #options: LicenseIntakeOptions;
  readonly #problems = new Map<string, string>();
  // refusals that stay refusals (not nbf, not an unknown kid), by token hash: not verified again
  readonly #refused = new BoundedLru<string, Refusal>({ max: 1_000 });
  // tokens already logged and counted: a listing repeats them every round
  readonly #counted = new BoundedLru<string, true>({ max: 1_000 });

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
    this.#counted.clear();
    this.#problems.clear();
  }

  /**
   * Judges `tokens` against `target` and commits the outcome to the cache, calling `onCommit`
   * with the changes and the lids newly revoked in the same synchronous step, so `get` and the
   * change events never disagree and a revocation plus its replacement land together.
   *
   * `revoked` lids are committed with the tokens: for a listing, before them (a replacement
   * takes the revoked license's place); for last-known-good (`fromCache`), after them (the file
   * holds each port's last entry, a revoked one included). Last-known-good loads expired tokens
   * and never fetches keys.
   *
   * Tokens with an unknown `kid` are judged again after one key refetch (cool-down permitting),
   * in a second commit, so the first one never waits on the network. A failed refetch propagates
   * after the first commit; the caller retries the listing.
   */
  async apply(
    tokens: readonly ListedToken[],
    target: VerifyTarget,
    options: {
      fromCache: boolean;
      signal: AbortSignal;
      revoked?: readonly string[];
      onCommit: (changes: LicenseChange[], revoked: ReadonlySet<string>) => void;
    },
  ): Promise<void> {
    const { cache } = this.#options;
    const { fromCache, signal, revoked = [], onCommit } = options;
    const skip = new Set(fromCache ? [] : revoked);
    const first = await this.#judge(tokens, target, { fromCache, skip, deferUnknownKid: !fromCache });
    // a listing repeats revocations it already reported: only the new ones are announced
    const fresh = new Set(revoked.filter((lid) => !cache.isRevoked(lid)));
    const changes = fromCache ? [] : cache.revoke(revoked);
    changes.push(...this.#commit(first, target.ports.keys()));
    if (fromCache) changes.push(...cache.revoke(revoked));
    onCommit(changes, fresh);
    if (first.deferred.length === 0) return;

    // the authority may have rotated keys: refetch once per cool-down, then judge those again
    let refetched = false;
    for (const kid of new Set(first.deferred.map(({ kid }) => kid))) {
      if (await this.#options.jwks.refreshForKid(kid, signal)) refetched = true;
    }
    if (refetched) this.#refused.clear();
    const second = await this.#judge(first.deferred, target, { fromCache, skip, deferUnknownKid: false });
    onCommit(this.#commit(second, []), new Set());
  }

  async #judge(tokens: readonly ListedToken[], target: VerifyTarget, how: { fromCache: boolean; skip: ReadonlySet<string>; deferUnknownKid: boolean }): Promise<Judgement> {
    const { cache, logger } = this.#options;
    const inForce = new Set(cache.entries().map(({ license }) => license.token));
    const judgement: Judgement = { accepted: [], problems: new Map(), deferred: [] };
    for (const { lid, token } of tokens) {
      if (how.skip.has(lid) || cache.isRevoked(lid) || inForce.has(token)) continue;
      const verdict = await this.#verify(token, target, how.fromCache);
      if (verdict.ok) {
        judgement.accepted.push(verdict);
      } else if ('unconfigured' in verdict) {
        logger.debug({ port: verdict.portName, lid }, 'license for a port this sidecar does not configure');
      } else if (verdict.reason === 'kid' && how.deferUnknownKid && 'kid' in verdict && typeof verdict.kid === 'string') {
        judgement.deferred.push({ lid, token, kid: verdict.kid });
      } else {
        this.#refuse(token, verdict, how.fromCache);
        if (verdict.portName !== undefined) judgement.problems.set(verdict.portName, `token ${lid} refused (${verdict.reason}): ${verdict.detail}`);
      }
    }
    return judgement;
  }

  /** Offers accepted licenses; sets problems, clearing them for `clearFor` ports without one. */
  #commit(judgement: Judgement, clearFor: Iterable<string>): LicenseChange[] {
    const changes: LicenseChange[] = [];
    for (const { portName, listenPort, license } of judgement.accepted) {
      const change = this.#options.cache.offer(portName, listenPort, license);
      if (change) changes.push(change);
    }
    for (const name of clearFor) if (!judgement.problems.has(name)) this.#problems.delete(name);
    for (const [name, problem] of judgement.problems) this.#problems.set(name, problem);
    return changes;
  }

  async #verify(token: string, target: VerifyTarget, fromCache: boolean): Promise<Verdict | Unconfigured | (Refusal & { kid?: unknown })> {
    const { jwks, clock } = this.#options;
    const known = this.#refused.get(hashOf(token));
    if (known) return known;
    const verdict = await verifyLicense(token, jwks.keys, target, clock, { allowExpired: fromCache });
    if (!verdict.ok && 'reason' in verdict && verdict.reason === 'kid') return { ...verdict, kid: safeKid(token) };
    return verdict;
  }

  /** Remembers a refusal that cannot turn into an acceptance; logs and counts it once per token. */
  #refuse(token: string, verdict: Refusal, fromCache: boolean): void {
    const hash = hashOf(token);
    if (verdict.reason !== 'nbf' && verdict.reason !== 'kid') {
      this.#refused.set(hash, { ok: false, reason: verdict.reason, detail: verdict.detail, portName: verdict.portName });
    }
    if (this.#counted.has(hash)) return;
    this.#counted.set(hash, true);
    this.#options.metrics.licenseRejectedTotal.inc({ reason: verdict.reason });
    this.#options.logger.warn(
      { reason: verdict.reason, port: verdict.portName, source: fromCache ? 'cache' : 'authority', detail: verdict.detail },
      'license token refused',
    );
  }
}

interface Judgement {
  accepted: { portName: string; listenPort: number; license: CachedLicense }[];
  problems: Map<string, string>;
  /** Signed under a kid we do not hold: judged again after a key refetch. */
  deferred: (ListedToken & { kid: string })[];
}

function hashOf(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

function safeKid(token: string): unknown {
  try {
    return decodeProtectedHeader(token).kid;
  } catch {
    return undefined;
  }
}

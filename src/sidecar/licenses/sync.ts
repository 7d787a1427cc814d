import { setTimeout as sleep } from 'node:timers/promises';
import { systemClock, type Clock } from '../../shared/clock.ts';
import type { SidecarConfig, PortConfig } from '../../shared/config/sidecar-schema.ts';
import { isPortwardenError, type PortwardenError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import { AuthorityClient } from '../authority/client.ts';
import type { DispatcherSource } from '../authority/transport.ts';
import { JwksStore } from './jwks-store.ts';
import { LastKnownGood } from './last-known-good.ts';
import type { CachedLicense } from './license.ts';
import { LicenseCache } from './cache.ts';
import { LicenseIntake, type ListedToken } from './intake.ts';
import { assessLicense, bestOf, forgetLicenseMetrics, reportLicenseMetrics, type NumberAssessment } from './health.ts';
import type { LicenseChange, LicenseSource, PortLicenseStatus } from './source.ts';
import { MAX_CLOCK_TOLERANCE_MS, type VerifyTarget } from './verifier.ts';
import type { SidecarMetrics } from '../admin/metrics.ts';
import { backoffDelay, BACKOFF_FLOOR_MS } from './backoff.ts';

/** A port as the sync sees it. */
export interface SyncPort {
  name: string;
  /** The listen number a license's `port.number` must equal; 0 (an ephemeral listener) accepts any. */
  listenPort: number;
  /**
   * Every listen number, when the port listens on several (both numbers of a transition): each
   * holds its own license. `listenPort` is the first. Absent: `[listenPort]`.
   */
  listenPorts?: readonly number[];
  /** The port's `expiry_grace`, for `status().graceUntil`. */
  expiryGraceMs?: number;
  /**
   * `follow_transitions`: with one configured number (not 0), a license for another number of
   * the port is accepted for that number (a transition's new number), held while it lasts.
   */
  followTransitions?: boolean;
}

/** The sync's view of configured ports. */
export function syncPortsFromConfig(ports: readonly PortConfig[]): SyncPort[] {
  return ports.map((port) => ({
    name: port.name,
    listenPort: port.listens[0].port,
    listenPorts: port.listens.map((address) => address.port),
    expiryGraceMs: port.expiry_grace,
    followTransitions: port.follow_transitions,
  }));
}

/** A configured port with its distinct listen numbers, the first one first. */
interface TrackedPort {
  name: string;
  numbers: readonly [number, ...number[]];
  expiryGraceMs: number;
  /** Takes licenses for numbers it does not list (`followTransitions` with one number, not 0). */
  follows: boolean;
}

function track(port: SyncPort): TrackedPort {
  const numbers = [...new Set([port.listenPort, ...(port.listenPorts ?? [])])] as [number, ...number[]];
  const follows = port.followTransitions === true && numbers.length === 1 && numbers[0] !== 0;
  return { name: port.name, numbers, expiryGraceMs: port.expiryGraceMs ?? 0, follows };
}

export interface LicenseSyncOptions {
  service: string;
  authority: SidecarConfig['authority'];
  ports: readonly SyncPort[];
  logger: Logger;
  metrics: SidecarMetrics;
  clock?: Clock;
  /**
   * The sidecar's shared authority transport (`AuthorityTransport`), asked for its dispatcher
   * per request and left open on close; without it the sync makes its own from
   * `authority.ca`/`cert`/`key`.
   */
  transport?: DispatcherSource;
  /** Back-off between failed rounds: from `floorMs` (250ms) doubling up to `ceilingMs` (`authority.refresh`). */
  backoff?: { floorMs?: number; ceilingMs?: number };
  /** How often an unknown `kid` may refetch the JWKS (30s). */
  jwksCooldownMs?: number;
  /** How often health and license gauges are recomputed besides on changes (1s). */
  healthIntervalMs?: number;
  /** Jitter source, for tests. */
  random?: () => number;
}

/**
 * The sidecar's license lifecycle, behind `LicenseSource`: loads last-known-good at start,
 * then keeps a Consul-style blocking query open against the authority (`wait` = `refresh`), so
 * changes (renewals, revocations) arrive within the round trip. Every token is verified once
 * on arrival; the per-connection `get` is a map lookup. A port listening on several numbers (a
 * transition) holds one license per number, so each number is revoked or renewed on its own.
 * Failed rounds back off with jitter and flip `authorityReachable` to false until a round
 * succeeds; licenses in force stay in force.
 */
export class LicenseSync implements LicenseSource {
  readonly #service: string;
  readonly #issuer: string;
  readonly #refreshMs: number;
  readonly #toleranceMs: number;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #metrics: SidecarMetrics;
  readonly #floorMs: number;
  readonly #ceilingMs: number;
  readonly #healthIntervalMs: number;
  readonly #random: () => number;
  readonly #client: AuthorityClient;
  readonly #jwks: JwksStore;
  readonly #lkg: LastKnownGood;
  readonly #cache = new LicenseCache();
  readonly #intake: LicenseIntake;
  readonly #listeners = new Set<(change: LicenseChange) => void>();
  readonly #revokeListeners = new Set<(lids: ReadonlySet<string>) => void>();
  readonly #abort = new AbortController();
  #ports = new Map<string, TrackedPort>();
  #listing: { tokens: readonly ListedToken[]; fromCache: boolean } = { tokens: [], fromCache: true };
  #index = 0;
  #reachable = false;
  /** The last blocking query was refused (`too_many_watches`): the next round asks without holding. */
  #pollOnly = false;
  /** Holds have been refused since the last one the authority took (one log line per streak). */
  #holdsRefused = false;
  #failures = 0;
  #lastSyncAt: number | undefined;
  #serial: Promise<unknown> = Promise.resolve();
  #started: Promise<void> | undefined;
  #loop: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: LicenseSyncOptions) {
    const { authority } = options;
    this.#service = options.service;
    this.#issuer = authority.issuer;
    this.#refreshMs = Math.max(authority.refresh, 1_000);
    this.#toleranceMs = Math.min(authority.clock_tolerance, MAX_CLOCK_TOLERANCE_MS);
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger.child({ component: 'license-sync' });
    this.#metrics = options.metrics;
    this.#floorMs = options.backoff?.floorMs ?? BACKOFF_FLOOR_MS;
    this.#ceilingMs = Math.max(options.backoff?.ceilingMs ?? this.#refreshMs, this.#floorMs);
    this.#healthIntervalMs = options.healthIntervalMs ?? 1_000;
    this.#random = options.random ?? Math.random;
    this.#client = new AuthorityClient({ url: authority.url, tokenFile: authority.token_file, tls: authority, transport: options.transport });
    this.#jwks = new JwksStore({
      fetchJwks: (signal) => this.#client.fetchJwks(signal),
      clock: this.#clock,
      logger: this.#logger,
      cooldownMs: options.jwksCooldownMs,
    });
    this.#intake = new LicenseIntake({ cache: this.#cache, jwks: this.#jwks, clock: this.#clock, logger: this.#logger, metrics: this.#metrics });
    this.#lkg = new LastKnownGood({ dir: authority.cache_dir, service: this.#service, clock: this.#clock, logger: this.#logger, metrics: this.#metrics });
    this.#ports = new Map(options.ports.map((port) => [port.name, track(port)]));
    if (authority.clock_tolerance > MAX_CLOCK_TOLERANCE_MS) {
      this.#logger.warn({ clockToleranceMs: this.#toleranceMs }, 'authority.clock_tolerance capped');
    }
  }

  get(portName: string, listenPort?: number): CachedLicense | undefined {
    return this.#cache.get(portName, listenPort ?? this.#ports.get(portName)?.numbers[0] ?? 0);
  }

  get authorityReachable(): boolean {
    return this.#reachable;
  }

  /** When the last successful round completed (ms since the epoch), if any. */
  get lastSyncAt(): number | undefined {
    return this.#lastSyncAt;
  }

  onChange(listener: (change: LicenseChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  onRevoke(listener: (lids: ReadonlySet<string>) => void): () => void {
    this.#revokeListeners.add(listener);
    return () => this.#revokeListeners.delete(listener);
  }

  byLid(lid: string): CachedLicense | undefined {
    return this.#cache.byLid(lid);
  }

  /**
   * The numbers a port holds a license for beyond the ones it is configured with (a followed
   * transition's new number), revoked or expired ones included, until the authority's answer
   * drops them.
   */
  followedNumbers(portName: string): number[] {
    const port = this.#ports.get(portName);
    if (port === undefined) return [];
    return this.#cache.numbers(portName).filter((number) => !port.numbers.includes(number));
  }

  status(portName: string, listenPort?: number): PortLicenseStatus {
    const port = this.#ports.get(portName);
    if (port === undefined) return { health: 'missing', problem: 'no such port is configured' };
    const numbers = this.#numbersOf(port);
    if (listenPort !== undefined && !numbers.includes(listenPort)) return { health: 'missing', problem: `the port does not listen on ${listenPort}` };
    if (listenPort !== undefined && numbers.length > 1) return this.#assessNumber(port, listenPort).assessment.status;
    const status = this.#portStatus(port);
    const problem = this.#intake.problem(portName);
    return problem === undefined ? status : { ...status, problem };
  }

  /**
   * Loads and re-verifies last-known-good, then starts the sync loop in the background. Never
   * throws for network or cache problems; call once (later calls return the same promise).
   */
  start(): Promise<void> {
    this.#started ??= (async () => {
      await this.#exclusive(() => this.#loadLastKnownGood());
      if (this.#abort.signal.aborted) return;
      this.#reportAll();
      this.#timer = setInterval(() => this.#reportAll(), this.#healthIntervalMs);
      this.#timer.unref();
      this.#loop = this.#run();
    })();
    return this.#started;
  }

  /**
   * Applies a reloaded port list: removed ports, and numbers a port no longer listens on, drop
   * their license with a change event; the numbers a port keeps keep theirs, so their listeners
   * never see a gap. Every known token is judged again against the new list.
   */
  async updatePorts(ports: readonly SyncPort[]): Promise<void> {
    await this.#exclusive(async () => {
      const next = new Map(ports.map((port) => [port.name, track(port)]));
      let removed: LicenseChange[] = [];
      for (const [name, old] of this.#ports) {
        const now = next.get(name);
        for (const number of old.numbers) {
          // an ephemeral listener (0) takes licenses for numbers the port does not list: when the
          // list changes, the one it holds may now belong to a listed number, so it is judged again
          const kept = now !== undefined && now.numbers.includes(number) && (number !== 0 || sameNumbers(old.numbers, now.numbers));
          if (kept) continue;
          const change = this.#cache.remove(name, number);
          if (change) removed.push(change);
        }
        // a followed number stays while the port still follows, or once the file lists it (adopted)
        for (const number of this.followedNumbers(name)) {
          if (now !== undefined && (now.follows || now.numbers.includes(number))) continue;
          const change = this.#cache.remove(name, number);
          if (change) removed.push(change);
        }
        if (now === undefined) forgetLicenseMetrics(this.#metrics, name);
      }
      this.#ports = next;
      this.#intake.forgetVerdicts();
      try {
        await this.#applyTokens(this.#listing.tokens, {
          fromCache: this.#listing.fromCache,
          signal: this.#abort.signal,
          onCommit: (changes) => {
            this.#publish([...removed, ...changes], false);
            removed = [];
          },
        });
      } catch (err) {
        // a key refetch failed: the next round judges these tokens again
        this.#logger.warn({ code: codeOf(err) }, 'cannot judge every known license after the port change');
      } finally {
        if (removed.length > 0) this.#publish(removed, false);
      }
    });
  }

  /** Aborts the pending long-poll, stops the loop and the timer, flushes last-known-good. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#abort.abort();
      if (this.#timer) clearInterval(this.#timer);
      await this.#started;
      await this.#loop;
      await this.#serial.catch(() => undefined);
      await this.#lkg.close();
      await this.#client.close();
      this.#listeners.clear();
      this.#revokeListeners.clear();
    })();
    return this.#closing;
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      const began = performance.now();
      let delay = 0;
      try {
        const changed = await this.#round(signal);
        this.#succeeded(changed);
        // a blocking query that answers at once with nothing new would spin; pace it
        if (!changed && performance.now() - began < this.#floorMs) delay = this.#floorMs;
      } catch (err) {
        if (signal.aborted) break;
        if (isPortwardenError(err, 'too_many_watches') && this.#reachable) {
          // the authority answers, but holds as many of this token's blocking queries as it
          // allows: ask again without holding once Retry-After has passed, still in sync
          delay = Math.max(err.retryAfterMs ?? 0, this.#floorMs);
          this.#holdRefused(err, delay);
        } else {
          delay = backoffDelay(++this.#failures, this.#floorMs, this.#ceilingMs, this.#random);
          // an authority over its limits says when to come back (429 Retry-After): not sooner
          if (isPortwardenError(err) && err.retryAfterMs !== undefined) delay = Math.max(delay, err.retryAfterMs);
          this.#failed(err, delay);
        }
      }
      if (delay > 0) await sleep(delay, undefined, { signal }).catch(() => undefined);
    }
  }

  /** One blocking query; true when the authority reported a change. */
  async #round(signal: AbortSignal): Promise<boolean> {
    let keysChanged = false;
    if (this.#jwks.stale) {
      try {
        keysChanged = await this.#jwks.refresh(signal);
      } catch (err) {
        if (this.#jwks.jwks === undefined || signal.aborted) throw err;
        this.#logger.warn({ code: codeOf(err) }, 'cannot refresh verification keys; keeping the cached ones');
      }
    }
    const sent = this.#index;
    // while the authority is unreachable, ask without holding: a recovered authority with nothing
    // new would otherwise hold the poll for a whole `refresh`, keeping grace and `degraded` on
    const waitMs = this.#reachable && !this.#pollOnly ? this.#refreshMs : 0;
    const listing = await this.#client.pollLicenses({ service: this.#service, index: sent, waitMs, signal });
    // after a refused hold, one answer without holding; the next round tries to hold again
    this.#pollOnly = false;
    if (waitMs > 0) this.#holdsRefused = false;
    await this.#exclusive(async () => {
      this.#listing = { tokens: listing.licenses, fromCache: false };
      const keysBefore = this.#jwks.jwks;
      await this.#applyTokens(listing.licenses, {
        fromCache: false,
        signal,
        revoked: listing.revoked,
        onCommit: (changes, revoked) => this.#publish(changes, keysChanged || keysBefore !== this.#jwks.jwks, true, revoked),
      });
      this.#dropUnlisted(listing.licenses);
    });
    // an index that went backwards means the authority's state was reset: start over (Consul's rule)
    this.#index = listing.index < sent ? 0 : listing.index;
    return listing.index !== sent;
  }

  /**
   * A followed number is held only while the authority lists its license: one it no longer lists
   * (the transition cancelled or completed the other way) is dropped, so its listener closes.
   * Configured numbers keep their license until it expires, as before.
   */
  #dropUnlisted(listed: readonly ListedToken[]): void {
    const lids = new Set(listed.map(({ lid }) => lid));
    const changes: LicenseChange[] = [];
    for (const name of this.#ports.keys()) {
      for (const number of this.followedNumbers(name)) {
        const license = this.#cache.get(name, number);
        if (license === undefined || lids.has(license.claims.lid)) continue;
        const change = this.#cache.remove(name, number);
        if (change) changes.push(change);
      }
    }
    if (changes.length > 0) this.#publish(changes, false);
  }

  /** Verifies and commits tokens against the ports configured now (see `LicenseIntake.apply`). */
  #applyTokens(tokens: readonly ListedToken[], options: Parameters<LicenseIntake['apply']>[2]): Promise<void> {
    const target: VerifyTarget = {
      service: this.#service,
      ports: new Map([...this.#ports].map(([name, port]) => [name, port.numbers])),
      follows: new Set([...this.#ports.values()].filter((port) => port.follows).map((port) => port.name)),
      issuer: this.#issuer,
      clockToleranceMs: this.#toleranceMs,
    };
    return this.#intake.apply(tokens, target, options);
  }

  async #loadLastKnownGood(): Promise<void> {
    const snapshot = await this.#lkg.load();
    if (snapshot === undefined) {
      this.#logger.info({ file: this.#lkg.file }, 'no last-known-good licenses; waiting for the authority');
      return;
    }
    try {
      this.#jwks.load(snapshot.jwks);
    } catch (err) {
      this.#metrics.licenseRejectedTotal.inc({ reason: 'cache_corrupt' });
      this.#logger.warn({ file: this.#lkg.file, code: codeOf(err) }, 'ignoring the last-known-good license cache: its keys are unusable');
      return;
    }
    this.#listing = { tokens: snapshot.licenses, fromCache: true };
    await this.#applyTokens(snapshot.licenses, {
      fromCache: true,
      signal: this.#abort.signal,
      revoked: snapshot.revoked,
      onCommit: (changes) => {
        this.#logger.info({ file: this.#lkg.file, ports: changes.map((change) => change.portName) }, 'loaded last-known-good licenses');
        this.#publish(changes, false, false);
      },
    });
  }

  /**
   * Emits changes, updates their gauges, announces newly revoked lids (after the changes, so a
   * listener already sees the port's new license), and writes last-known-good when anything
   * changed.
   */
  #publish(changes: LicenseChange[], keysChanged: boolean, persist = true, revoked: ReadonlySet<string> = noLids): void {
    for (const change of netChanges(changes)) {
      const current = change.current;
      this.#logger.info(
        { port: change.portName, listen: change.listenPort, lid: current?.claims.lid, jti: current?.claims.jti, revoked: current?.revoked, exp: current?.claims.exp },
        current === undefined ? 'license removed' : current.revoked ? 'license revoked' : 'license applied',
      );
      if (this.#ports.has(change.portName)) this.#reportPort(change.portName);
      for (const listener of this.#listeners) {
        try {
          listener(change);
        } catch (err) {
          this.#logger.error({ err, port: change.portName }, 'license change listener failed');
        }
      }
    }
    if (revoked.size > 0) {
      this.#logger.info({ lids: [...revoked] }, 'revocations received');
      for (const listener of this.#revokeListeners) {
        try {
          listener(revoked);
        } catch (err) {
          this.#logger.error({ err }, 'revocation listener failed');
        }
      }
    }
    // a revoked lid that no longer held a number changes no entry, but the file keeps the revocation
    if (!persist || (changes.length === 0 && revoked.size === 0 && !keysChanged)) return;
    const jwks = this.#jwks.jwks;
    if (jwks === undefined) return;
    void this.#lkg.save({
      jwks: jwks as { keys: Record<string, unknown>[] },
      licenses: this.#cache.entries().map(({ portName, license }) => ({ port: portName, lid: license.claims.lid, token: license.token })),
      revoked: this.#cache.revokedLids(),
    });
  }

  #succeeded(changed: boolean): void {
    this.#metrics.authoritySyncTotal.inc({ result: changed ? 'changed' : 'unchanged' });
    this.#lastSyncAt = this.#clock.now();
    this.#metrics.authorityLastSync.set(this.#lastSyncAt / 1000);
    this.#failures = 0;
    if (!this.#reachable) {
      this.#reachable = true;
      this.#logger.info({ index: this.#index }, 'authority reachable; licenses in sync');
      this.#reportAll();
    }
  }

  /** A refused hold: counted as a failed round, logged once per streak; reachability and licenses stay as they are. */
  #holdRefused(err: PortwardenError, retryInMs: number): void {
    this.#metrics.authoritySyncTotal.inc({ result: 'error' });
    if (!this.#holdsRefused) {
      this.#holdsRefused = true;
      this.#logger.warn({ code: err.code, detail: err.message, retryInMs: Math.round(retryInMs) }, 'authority holds no more blocking queries for this token (limits.max_watches_per_token); asking without holding');
    }
    this.#pollOnly = true;
  }

  #failed(err: unknown, retryInMs: number): void {
    this.#metrics.authoritySyncTotal.inc({ result: 'error' });
    const wasReachable = this.#reachable;
    this.#reachable = false;
    this.#logger.warn(
      { code: codeOf(err), detail: err instanceof Error ? err.message : String(err), failures: this.#failures, retryInMs: Math.round(retryInMs) },
      wasReachable ? 'authority unreachable; admitting on cached licenses' : 'authority sync failed',
    );
    if (wasReachable) this.#reportAll();
  }

  #assessNumber(port: TrackedPort, listenPort: number): NumberAssessment {
    const license = this.#cache.get(port.name, listenPort);
    const assessment = assessLicense(license, {
      now: this.#clock.now(),
      authorityReachable: this.#reachable,
      expiryGraceMs: port.expiryGraceMs,
      clockToleranceMs: this.#toleranceMs,
    });
    return { listenPort, license, assessment };
  }

  /** The port's license as `/readyz` and the gauges judge it: its only number's, or the one that serves best (`bestOf`). */
  #assessPort(port: TrackedPort): { best: NumberAssessment; all: NumberAssessment[] } {
    const all = this.#numbersOf(port).map((number) => this.#assessNumber(port, number)) as [NumberAssessment, ...NumberAssessment[]];
    return { best: bestOf(all), all };
  }

  /** The port's status; with several numbers, the best one's, naming the numbers that do not admit. */
  #portStatus(port: TrackedPort): PortLicenseStatus {
    const { best, all } = this.#assessPort(port);
    const status = best.assessment.status;
    if (all.length === 1 || !best.assessment.valid || status.problem !== undefined) return status;
    const refusing = all.filter((entry) => !entry.assessment.valid).map((entry) => `listen number ${entry.listenPort}: ${entry.assessment.status.problem ?? 'no license'}`);
    return refusing.length === 0 ? status : { ...status, problem: refusing.join('; ') };
  }

  /** The port's configured numbers, then the followed ones. */
  #numbersOf(port: TrackedPort): readonly [number, ...number[]] {
    const followed = this.followedNumbers(port.name);
    return followed.length === 0 ? port.numbers : [...port.numbers, ...followed];
  }

  #reportPort(name: string): void {
    const port = this.#ports.get(name);
    if (port === undefined) return;
    const { best } = this.#assessPort(port);
    reportLicenseMetrics(this.#metrics, name, best.license, best.assessment);
  }

  #reportAll(): void {
    for (const name of this.#ports.keys()) this.#reportPort(name);
  }

  /** Runs cache mutations one at a time: the loop, start and reloads never interleave. */
  #exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#serial.then(task, task);
    this.#serial = run.catch(() => undefined);
    return run;
  }
}

const noLids: ReadonlySet<string> = new Set();

/**
 * One change per port and listen number, from its first `previous` to its last `current`: a
 * listing that revokes the license in force and carries its replacement is one replacement for
 * the gauges and the log, not a revoked port followed by a new license. The revocation itself
 * still reaches `onRevoke`, so the connections the revoked license admitted get `on_revoke`.
 */
function netChanges(changes: readonly LicenseChange[]): LicenseChange[] {
  const bySlot = new Map<string, LicenseChange>();
  for (const change of changes) {
    const slot = `${change.portName}:${change.listenPort ?? ''}`;
    const first = bySlot.get(slot);
    bySlot.set(slot, first === undefined ? change : { ...change, previous: first.previous });
  }
  return [...bySlot.values()].filter((change) => change.previous !== change.current);
}

/** The same distinct numbers, in any order. */
function sameNumbers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((number) => b.includes(number));
}

function codeOf(err: unknown): string {
  if (isPortwardenError(err)) return err.code;
  return (err as { code?: string } | null)?.code ?? 'internal';
}

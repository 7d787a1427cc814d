import { PeriodicSweep } from '../../shared/periodic-sweep.ts';
import type { Clock } from '../../shared/clock.ts';
import type { Logger } from '../../shared/logger.ts';
import { systemActor } from '../audit/log.ts';
import { isRotationDue, rotateKey } from '../keys/rotation.ts';
import type { LicenseService } from './service.ts';
import type { AuthorityMetrics } from '../metrics.ts';
import type { LicenseRow } from '../store/licenses.ts';
import type { Store } from '../store/store.ts';
import { batchIdMemoryMs } from '../access/telemetry.ts';

/** Callers (identity, origin) not seen this long are forgotten; their ports' totals stay. */
const callerMemoryMs = 90 * 86_400_000;

export interface RenewerOptions {
  store: Store;
  licenses: LicenseService;
  clock: Clock;
  logger: Logger;
  metrics: AuthorityMetrics;
  /** `keys.rotate_every`; 0 turns scheduled rotation off. */
  rotateEveryMs: number;
  /** How often a sweep runs (real time); each sweep reads the injected clock. */
  intervalMs: number;
}

/**
 * The authority's own upkeep, on a timer: rotates the signing key when due, renews licenses
 * entering their renew window, and records every license that lapsed (`license.expired` in the
 * audit log, with the reason it was not renewed). It never lets a license lapse silently.
 *
 * A license is renewed when it is `renew: always`, or `renew: auto` and in use: a sidecar
 * reported an access to it within the last renew window's length (see `inUse`). The window opens
 * `renew_before` ahead of `exp`, or at half the TTL for TTLs shorter than twice that.
 *
 * Authorities sharing one store run the upkeep through `store.exclusive`, so a license due for
 * renewal is renewed once; each still sets its own license gauges.
 */
export class Renewer extends PeriodicSweep {
  readonly #o: RenewerOptions;

  constructor(options: RenewerOptions) {
    super({ what: 'renewer sweep', intervalMs: options.intervalMs, logger: options.logger });
    this.#o = options;
  }

  protected async run(): Promise<void> {
    const { store, licenses, clock, metrics } = this.#o;
    // authorities sharing a store take turns: one renews, the others skip the round
    await store.exclusive('renewer', () => this.#upkeep());
    await observeLicenses(store, clock, metrics, licenses.policy.renew_before);
  }

  async #upkeep(): Promise<void> {
    const { store, licenses, clock, logger, metrics } = this.#o;
    const active = await store.read((tx) => tx.keys.active());
    if (active && isRotationDue(active, this.#o.rotateEveryMs, clock.now())) {
      const { active: key } = await store.transaction((tx) => rotateKey(tx, clock, systemActor));
      logger.info({ kid: key.kid, retired: active.kid }, 'signing key rotated on schedule');
    }

    const policy = licenses.policy;
    const now = clock.now();
    const due = await store.read((tx) => tx.licenses.activeExpiringBy(now + policy.renew_before));
    for (const row of due) {
      if (row.exp <= now || now < renewAt(row, policy.renew_before) || this.stopped) continue;
      if (!wantsRenewal(row, now, policy.renew_before)) continue;
      try {
        const view = await licenses.renew(systemActor, row.lid);
        metrics.renewals.inc({ result: 'renewed' });
        logger.info({ lid: row.lid, sub: view.sub, expires_at: view.expires_at }, 'license renewed');
      } catch (err) {
        metrics.renewals.inc({ result: 'failed' });
        logger.warn({ err, lid: row.lid }, 'license renewal failed');
      }
    }

    const why = (row: LicenseRow) => whyNotRenewed(row, policy.renew_before);
    const lapsed = await licenses.expireLapsed(systemActor, why);
    for (const row of lapsed) {
      metrics.renewals.inc({ result: 'expired' });
      logger.warn({ lid: row.lid, sub: `${row.service}/${row.portName}`, reason: why(row) }, 'license expired');
    }
    await store.transaction((tx) => tx.telemetry.pruneBatches(clock.now() - batchIdMemoryMs));
    await store.transaction((tx) => tx.access.pruneCallers(clock.now() - callerMemoryMs));
  }
}

/** Sets the license gauges: licenses by state, and the active ones in their renew window that will not be renewed. */
export async function observeLicenses(store: Store, clock: Clock, metrics: AuthorityMetrics, renewBeforeMs: number): Promise<void> {
  const now = clock.now();
  const { counts, lapsing } = await store.read(async (tx) => ({
    counts: await tx.licenses.countByState(),
    lapsing: (await tx.licenses.activeExpiringBy(now + renewBeforeMs)).filter((row) => atRisk(row, now, renewBeforeMs)).length,
  }));
  for (const [state, n] of Object.entries(counts)) metrics.licenses.set({ state }, n);
  metrics.licensesAtRisk.set(lapsing);
}

/**
 * At risk: active, unexpired, inside its renew window, and the renewer will not renew it
 * (`renew: never`, max lifetime reached, or `renew: auto` and not in use): it lapses at `exp`.
 */
export function atRisk(row: LicenseRow, now: number, renewBeforeMs: number): boolean {
  return row.state === 'active' && row.exp > now && now >= renewAt(row, renewBeforeMs) && !wantsRenewal(row, now, renewBeforeMs);
}

/** When the renew window of the current token opens. */
export function renewAt(row: LicenseRow, renewBeforeMs: number): number {
  return row.exp - Math.min(renewBeforeMs, Math.floor(row.ttlMs / 2));
}

/**
 * True when the renewer should renew the license once its window opens: `renew: always`, or
 * `renew: auto` and in use. Never past `max_lifetime` or for `renew: never`.
 */
export function wantsRenewal(row: LicenseRow, now: number, renewBeforeMs: number): boolean {
  if (row.exp >= row.maxUntil || row.renew === 'never') return false;
  return row.renew === 'always' || inUse(row, now, renewBeforeMs);
}

/**
 * In use: a sidecar reported an access within the last renew window's length (`renew_before`,
 * or half the TTL for short ones) and since the current token was issued. Judged at `now`, or
 * at `exp` for a license that lapsed, so a license used only early in its life is not kept alive.
 */
export function inUse(row: LicenseRow, now: number, renewBeforeMs: number): boolean {
  if (row.lastAccessAt === null) return false;
  const window = row.exp - renewAt(row, renewBeforeMs);
  return row.lastAccessAt >= Math.max(row.iat, Math.min(now, row.exp) - window);
}

/** The reason written into `license.expired`. */
export function whyNotRenewed(row: LicenseRow, renewBeforeMs: number): string {
  if (row.exp >= row.maxUntil) return 'max_lifetime';
  if (row.renew === 'never') return 'renew_never';
  if (row.renew === 'auto' && !inUse(row, row.exp, renewBeforeMs)) return 'not_in_use';
  return 'not_renewed';
}

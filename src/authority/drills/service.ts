import { randomBytes, randomUUID } from 'node:crypto';
import type { Clock } from '../../shared/clock.ts';
import { formatDuration } from '../../shared/duration.ts';
import { PortwardenError } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import { appendAudit, type Actor } from '../audit/log.ts';
import { runChange, type Touch } from '../changes/run-change.ts';
import { drillReport, drillView, reportCallerScan, type DrillReport, type DrillView } from './view.ts';
import { auditLicense, effectiveState } from '../licenses/view.ts';
import { payloadOf, type LicenseService } from '../licenses/service.ts';
import { LicenseSigner } from '../keys/signer.ts';
import type { DrillChanges, DrillKind, DrillRow, DrillState, RestoredLicense } from '../store/drills.ts';
import type { LicenseRow } from '../store/licenses.ts';
import type { Store, StoreTx } from '../store/store.ts';
import type { WatchHub } from '../changes/watch-hub.ts';

/**
 * How long an `expire` drill's short token stays valid. A sidecar verifies a token once, on
 * arrival, and refuses one already past `exp`, and the authority lists only unexpired tokens:
 * the short token must reach every watching sidecar (one long-poll round trip, or a few
 * back-off steps) before it lapses, or those sidecars keep the license they hold.
 */
export const expireLeadMs = 5_000;
/** Drill windows run from 1s to 24h (the message of `start` says so). */
export const minWindowMs = 1_000;
export const maxWindowMs = 24 * 3_600_000;

export interface DrillStart {
  kind: DrillKind;
  service: string;
  /** The port name; required for `revoke` and `expire`, ignored by `outage` (which covers the service). */
  port?: string | null;
  /** The window, in milliseconds. */
  forMs: number;
}

export interface DrillServiceOptions {
  store: Store;
  hub: WatchHub;
  clock: Clock;
  licenses: LicenseService;
  /** The authority's `issuer`, for the tokens drills re-sign. */
  issuer: string;
  logger: Logger;
}

/**
 * Drills rehearse a license failure on a (staging) authority for a window, then put everything
 * back. A drill is a row in the store, so the restore does not depend on the CLI that started
 * it: the drill sweeper restores it when its window ends, also after an authority restart;
 * `stop` restores it early. Starting and restoring are each one transaction with their audit
 * entries (`drill.start`, `drill.restore`) and the license changes they make.
 *
 * - `revoke` revokes the port's active licenses. Revocation is final for a `lid`, so the restore
 *   issues each a replacement with the same service, port, number, protocol, allow list, env,
 *   renew policy and TTL, and records `from` → `lid` in `changes.restored`.
 * - `expire` re-signs each active license of the port (same `lid`, new `jti`) to lapse within
 *   `expireLeadMs`, with `renew: never` so the renewer leaves it lapsing. Sidecars take it as a
 *   renewal (same `lid`, later `iat`) and, once it lapses, decide `expired`, exactly as when a
 *   renewal fails to arrive; nothing is revoked. The restore re-signs the same `lid` for a full
 *   TTL (never past its max lifetime; a license already there gets a replacement instead) and
 *   gives back its renew policy.
 * - `outage` makes `GET /v1/licenses` for the service answer 503 `unavailable` for the window,
 *   so its sidecars run on last-known-good and `expiry_grace`. The JWKS stays served: it is
 *   public and shared by every service (a request does not say whose sidecar asks), and a
 *   sidecar that cannot refresh it keeps its cached keys anyway. Telemetry is still accepted,
 *   so the report covers the window.
 *
 * One drill at a time per port, and an `outage` excludes every other drill of its service.
 */
export class DrillService {
  readonly #o: DrillServiceOptions;
  readonly #signer: LicenseSigner;

  constructor(options: DrillServiceOptions) {
    this.#o = options;
    this.#signer = new LicenseSigner(options.issuer);
  }

  /** Starts a drill: applies its change, records it, audits `drill.start`. */
  async start(actor: Actor, input: DrillStart): Promise<DrillView> {
    const { kind, service, forMs } = input;
    const port = kind === 'outage' ? null : (input.port ?? null);
    if (port === null && kind !== 'outage') throw new PortwardenError('bad_request', `port: required for a ${kind} drill`);
    if (forMs < minWindowMs || forMs > maxWindowMs) {
      throw new PortwardenError('bad_request', 'for: must be from 1s to 24h');
    }
    if (kind === 'expire' && forMs <= expireLeadMs) {
      throw new PortwardenError('bad_request', `for: an expire drill must outlast the ${formatDuration(expireLeadMs)} its short token takes to lapse`);
    }
    const { store, hub, clock, logger } = this.#o;
    const view = await runChange(store, hub, async (tx, touch) => {
      const now = clock.now();
      const clash = (await tx.drills.list({ service, state: 'active', limit: 1_000 })).find(
        (other) => other.kind === 'outage' || kind === 'outage' || other.port === port,
      );
      if (clash) {
        throw new PortwardenError('conflict', `drill ${clash.id} (${clash.kind} ${target(clash)}) is active until ${iso(clash.endsAt)}; stop it first`);
      }
      const id = `drl_${randomBytes(8).toString('hex')}`;
      const changes: DrillChanges = { revoked: [], shortened: [], refused: null, restored: [], skipped: [] };
      if (kind === 'outage') {
        // wakes the service's parked blocking queries, so every sidecar's next round is refused
        await touch(service);
        changes.refused = `GET /v1/licenses?service=${service}`;
      } else {
        const licenses = await activeLicenses(tx, service, port ?? '', now);
        if (licenses.length === 0) throw new PortwardenError('conflict', `${service}/${port} has no active license to drill`);
        for (const license of licenses) {
          if (kind === 'revoke') {
            await this.#o.licenses.revokeWithin(tx, touch, actor, license.lid, `drill ${id}`);
            changes.revoked.push(license.lid);
          } else {
            changes.shortened.push(await this.#shorten(tx, touch, actor, license, id, now));
          }
        }
      }
      const totals = await tx.drills.access(service, port === null ? undefined : [port], Number.MAX_SAFE_INTEGER, 0);
      const row: DrillRow = {
        id,
        kind,
        service,
        port,
        startsAt: now,
        endsAt: now + forMs,
        actor: actor.id,
        state: 'active',
        changes,
        baseline: { ports: Object.fromEntries(totals.ports.map((p) => [p.port, p.count])) },
        observed: null,
        restoredAt: null,
        restoredBy: null,
      };
      await tx.drills.insert(row);
      const view = drillView(row, now);
      await appendAudit(tx, clock, actor, { action: 'drill.start', target: `drill/${id}`, after: view });
      return view;
    });
    logger.info({ drill: view.id, kind, service, port, ends_at: view.ends_at, actor: actor.id, changes: view.changes }, 'drill started');
    return view;
  }

  /** Restores a drill now (`POST /v1/drills/{id}/stop`); a restored drill is a `conflict`. */
  async stop(actor: Actor, id: string): Promise<DrillView> {
    const view = await this.#restore(actor, id, false);
    if (view === undefined) throw new PortwardenError('internal', `drill ${id} was not restored`);
    return view;
  }

  /**
   * Restores every active drill whose window has ended (the sweeper). A drill whose restore
   * fails is logged and stays active for the next call; the others go on. Returns the restored.
   */
  async restoreDue(actor: Actor): Promise<DrillView[]> {
    const due = await this.#o.store.read((tx) => tx.drills.dueBy(this.#o.clock.now()));
    const restored: DrillView[] = [];
    for (const row of due) {
      try {
        const view = await this.#restore(actor, row.id, true);
        if (view) restored.push(view);
      } catch (err) {
        this.#o.logger.error({ err, drill: row.id }, 'drill restore failed; retrying on the next sweep');
      }
    }
    return restored;
  }

  /** One drill; the telemetry report is live while it is active, as of its restore after. */
  async get(id: string): Promise<DrillView> {
    const now = this.#o.clock.now();
    return this.#o.store.read(async (tx) => {
      const row = await tx.drills.get(id);
      if (!row) throw new PortwardenError('not_found', `no drill ${id}`);
      return drillView(row, now, row.state === 'active' ? await report(tx, row, now) : (row.observed as DrillReport | null) ?? undefined);
    });
  }

  /** Drills, newest first, without their reports. */
  async list(filter: { service?: string; state?: DrillState; limit: number }): Promise<DrillView[]> {
    const now = this.#o.clock.now();
    const rows = await this.#o.store.read((tx) => tx.drills.list(filter));
    return rows.map((row) => drillView(row, now));
  }

  /** The service of a drill, for access checks; undefined when there is no such drill. */
  async serviceOf(id: string): Promise<string | undefined> {
    return (await this.#o.store.read((tx) => tx.drills.get(id)))?.service;
  }

  async #restore(actor: Actor, id: string, onlyIfDue: boolean): Promise<DrillView | undefined> {
    const { store, hub, clock, logger } = this.#o;
    const view = await runChange(store, hub, async (tx, touch) => {
      const now = clock.now();
      const before = await tx.drills.get(id);
      if (!before) throw new PortwardenError('not_found', `no drill ${id}`);
      if (onlyIfDue && (before.state !== 'active' || before.endsAt > now)) return undefined;
      if (before.state !== 'active') throw new PortwardenError('conflict', `drill ${id} was already restored at ${iso(before.restoredAt ?? now)}`);
      const changes: DrillChanges = structuredClone(before.changes);
      // a sidecar counts the authority reachable once a round completes; with nothing else
      // changing, its first round after an outage would be held for a whole `refresh`
      if (before.kind === 'outage') await touch(before.service);
      for (const lid of changes.revoked) {
        const license = await tx.licenses.get(lid);
        if (license) changes.restored.push(await this.#reissue(tx, touch, actor, license));
        else changes.skipped.push({ lid, why: 'no such license any more' });
      }
      for (const shortened of changes.shortened) {
        const license = await tx.licenses.get(shortened.lid);
        if (!license) changes.skipped.push({ lid: shortened.lid, why: 'no such license any more' });
        else if (license.state === 'revoked') changes.skipped.push({ lid: license.lid, why: 'revoked during the drill' });
        else changes.restored.push(await this.#unshorten(tx, touch, actor, license, shortened, id, now));
      }
      const observed = await report(tx, before, now);
      const row: DrillRow = { ...before, state: 'restored', changes, observed, restoredAt: now, restoredBy: actor.id };
      await tx.drills.update(row);
      await appendAudit(tx, clock, actor, { action: 'drill.restore', target: `drill/${id}`, before: drillView(before, now), after: drillView(row, now) });
      return drillView(row, now, observed);
    });
    if (view) logger.info({ drill: id, kind: view.kind, service: view.service, port: view.port, restored_by: actor.id, restored: view.changes.restored }, 'drill restored');
    return view;
  }

  /** `expire` at start: the same lid re-signed to lapse within `expireLeadMs`, renew `never`. */
  async #shorten(tx: StoreTx, touch: Touch, actor: Actor, before: LicenseRow, id: string, now: number) {
    const iat = Math.floor(now / 1000) * 1000;
    // a sidecar keeps, of two tokens of one lid, the one issued later: a token signed this
    // very second would win over the short one
    if (before.iat >= iat) throw new PortwardenError('conflict', `license ${before.lid} got its token this second; start the drill again in a second`);
    const exp = Math.min(Math.ceil((now + expireLeadMs) / 1000) * 1000, before.exp);
    const row: LicenseRow = { ...before, renew: 'never' };
    if (exp < before.exp) Object.assign(row, { jti: randomUUID(), iat, exp });
    row.modifyIndex = await touch(row.service);
    if (row.jti !== before.jti) Object.assign(row, await this.#signer.sign(tx, payloadOf(row)));
    await tx.licenses.update(row);
    await appendAudit(tx, this.#o.clock, actor, {
      action: 'license.shortened',
      target: `license/${row.lid}`,
      before: auditLicense(before, now),
      after: { ...auditLicense(row, now), drill: id },
    });
    return {
      lid: row.lid,
      jti_before: before.jti,
      expires_at_before: iso(before.exp),
      jti: row.jti,
      expires_at: iso(row.exp),
      renew_before: before.renew,
    };
  }

  /** `expire` at restore: the same lid re-signed for a full TTL with its renew policy back. */
  async #unshorten(
    tx: StoreTx,
    touch: Touch,
    actor: Actor,
    before: LicenseRow,
    shortened: DrillChanges['shortened'][number],
    id: string,
    now: number,
  ): Promise<RestoredLicense> {
    const renewed = before.jti !== shortened.jti && effectiveState(before, now) === 'active';
    const iat = Math.floor(now / 1000) * 1000;
    const exp = Math.min(iat + Math.ceil(before.ttlMs / 1000) * 1000, before.maxUntil);
    if (!renewed && exp <= now) return this.#reissue(tx, touch, actor, { ...before, renew: shortened.renew_before });
    const row: LicenseRow = { ...before, renew: shortened.renew_before };
    // renewed by an admin during the drill: that token admits; only the renew policy comes back
    if (!renewed) Object.assign(row, { state: 'active', expiredAt: null, jti: randomUUID(), iat, exp });
    row.modifyIndex = await touch(row.service);
    if (!renewed) Object.assign(row, await this.#signer.sign(tx, payloadOf(row)));
    await tx.licenses.update(row);
    await appendAudit(tx, this.#o.clock, actor, {
      action: 'license.restored',
      target: `license/${row.lid}`,
      before: auditLicense(before, now),
      after: { ...auditLicense(row, now), drill: id },
    });
    return { from: row.lid, lid: row.lid, how: renewed ? 'kept' : 'renewed', expires_at: iso(row.exp) };
  }

  /** A replacement for `license`: a new lid with the same service, port, allow list, env, renew and TTL. */
  async #reissue(tx: StoreTx, touch: Touch, actor: Actor, license: LicenseRow): Promise<RestoredLicense> {
    const view = await this.#o.licenses.issueWithin(tx, touch, actor, {
      service: license.service,
      portName: license.portName,
      port: { number: license.portNumber, protocol: license.protocol },
      allow: license.allow,
      // the TTL it was issued with, unless licenses.max_lifetime was lowered since
      ttlMs: Math.min(license.ttlMs, this.#o.licenses.policy.max_lifetime),
      env: license.env,
      renew: license.renew,
    });
    return { from: license.lid, lid: view.lid, how: 'reissued', expires_at: view.expires_at };
  }
}

/**
 * Refuses a license listing of `service` while an `outage` drill holds it (the sync route's
 * guard): 503 `unavailable`, as an authority that is down or restarting would answer.
 */
export async function refuseDuringOutage(store: Store, clock: Clock, service: string): Promise<void> {
  const now = clock.now();
  const drill = await store.read((tx) => tx.drills.outageAt(service, now));
  if (drill) {
    throw new PortwardenError('unavailable', `license sync for ${service} is refused until ${iso(drill.endsAt)} (outage drill ${drill.id})`);
  }
}

async function activeLicenses(tx: StoreTx, service: string, port: string, now: number): Promise<LicenseRow[]> {
  const rows = await tx.licenses.list({ service, state: 'active' });
  return rows.filter((row) => row.portName === port && row.exp > now);
}

async function report(tx: StoreTx, row: DrillRow, now: number): Promise<DrillReport> {
  const access = await tx.drills.access(row.service, row.port === null ? undefined : [row.port], row.startsAt, reportCallerScan);
  return drillReport(row, access, now);
}

function target(row: DrillRow): string {
  return row.port === null ? row.service : `${row.service}/${row.port}`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

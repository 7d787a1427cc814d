import { randomBytes, randomUUID } from 'node:crypto';
import type { Clock } from '../../shared/clock.ts';
import { formatDuration } from '../../shared/duration.ts';
import { PortwardenError } from '../../shared/errors.ts';
import { appendAudit, type Actor } from '../audit/log.ts';
import { runChange, type Touch } from '../changes/run-change.ts';
import { atRisk, renewAt } from './renewer.ts';
import { auditLicense, effectiveState, licenseView, type LicenseView } from './view.ts';
import type { LicenseSigner } from '../keys/signer.ts';
import type { LicenseRow, RenewPolicy } from '../store/licenses.ts';
import type { Protocol } from '../../register/port-record.ts';
import type { Store, StoreTx } from '../store/store.ts';
import type { WatchHub } from '../changes/watch-hub.ts';

/** `licenses:` of the authority configuration, in milliseconds. */
export interface LicensePolicy {
  ttl: number;
  max_lifetime: number;
  renew_before: number;
}

export interface IssueInput {
  service: string;
  portName: string;
  port: { number: number; protocol: Protocol };
  allow: string[];
  /** The configured `licenses.ttl` when absent. */
  ttlMs?: number;
  env?: string | null;
  renew?: RenewPolicy;
}

/** What `GET /v1/licenses` answers (the blocking query). */
export interface LicenseSnapshot {
  /** The global change index the answer reflects; pass it back as `index` to wait for the next change. */
  index: number;
  /** The current (active, unexpired) licenses, with their tokens. */
  licenses: LicenseView[];
  /** Lids revoked after the request's `index` (all, for index 0) whose last token has not expired. */
  revoked: string[];
}

export interface LicenseServiceOptions {
  store: Store;
  hub: WatchHub;
  signer: LicenseSigner;
  clock: Clock;
  policy: LicensePolicy;
}

/**
 * Issue, renew, revoke, expire and list licenses. Every change is one transaction that signs,
 * writes, audits and takes a change index; blocking queries wake after it commits.
 *
 * Issuing for a (service, port) pair that already has an active license makes a second,
 * independent license (a new `lid`); both are valid until each expires or is revoked. That is
 * how an allow list is changed without a gap: issue the new one, then revoke the old.
 */
export class LicenseService {
  readonly #o: LicenseServiceOptions;
  /** Store reads in flight for blocking queries, by hub generation, service and index (see `#readShared`). */
  readonly #reads = new Map<string, Promise<{ changedAt: number; view: LicenseSnapshot }>>();

  constructor(options: LicenseServiceOptions) {
    this.#o = options;
  }

  get policy(): LicensePolicy {
    return this.#o.policy;
  }

  issue(actor: Actor, input: IssueInput): Promise<LicenseView> {
    return runChange(this.#o.store, this.#o.hub, (tx, touch) => this.issueWithin(tx, touch, actor, input));
  }

  /** Issues inside a caller's change (the register licenses a port as it approves it). */
  async issueWithin(tx: StoreTx, touch: Touch, actor: Actor, input: IssueInput): Promise<LicenseView> {
    const { clock, policy, signer } = this.#o;
    const ttlMs = input.ttlMs ?? policy.ttl;
    if (ttlMs < 1000) throw new PortwardenError('bad_request', 'ttl: must be at least 1s');
    if (ttlMs > policy.max_lifetime) {
      throw new PortwardenError('bad_request', `ttl: must not exceed licenses.max_lifetime (${formatDuration(policy.max_lifetime)})`);
    }
    const now = clock.now();
    const iat = Math.floor(now / 1000) * 1000;
    const lid = `lic_${randomBytes(10).toString('hex')}`;
    const row: LicenseRow = {
      lid,
      service: input.service,
      portName: input.portName,
      portNumber: input.port.number,
      protocol: input.port.protocol,
      allow: input.allow,
      env: input.env ?? null,
      renew: input.renew ?? 'auto',
      ttlMs,
      state: 'active',
      createdAt: iat,
      maxUntil: iat + policy.max_lifetime,
      createdBy: actor.id,
      jti: randomUUID(),
      kid: '',
      token: '',
      iat,
      exp: iat + Math.ceil(ttlMs / 1000) * 1000,
      renewals: 0,
      revokedAt: null,
      expiredAt: null,
      lastAccessAt: null,
      createIndex: 0,
      modifyIndex: 0,
    };
    row.createIndex = row.modifyIndex = await touch(row.service);
    Object.assign(row, await signer.sign(tx, payloadOf(row)));
    await tx.licenses.insert(row);
    await appendAudit(tx, clock, actor, { action: 'license.issued', target: `license/${lid}`, after: auditLicense(row, now) });
    return licenseView(row, now);
  }

  /** A new token (new `jti`, same `lid`) valid for another TTL, never past the max lifetime. */
  renew(actor: Actor, lid: string): Promise<LicenseView> {
    return runChange(this.#o.store, this.#o.hub, async (tx, touch) => {
      const { clock, signer } = this.#o;
      const now = clock.now();
      const before = await this.#mustGet(tx, lid);
      const state = effectiveState(before, now);
      if (state !== 'active') throw new PortwardenError('conflict', `license ${lid} is ${state}; issue a new one`);
      const iat = Math.floor(now / 1000) * 1000;
      // refused only once the current token already runs to the max lifetime; a renewal in
      // the same second as the last one is allowed (a new jti, the same exp)
      if (before.exp >= before.maxUntil) {
        throw new PortwardenError(
          'license_max_lifetime',
          `license ${lid} reached its max lifetime (until ${new Date(before.maxUntil).toISOString()}); issue a new one`,
        );
      }
      const exp = Math.min(iat + Math.ceil(before.ttlMs / 1000) * 1000, before.maxUntil);
      const row: LicenseRow = { ...before, jti: randomUUID(), iat, exp, renewals: before.renewals + 1 };
      row.modifyIndex = await touch(row.service);
      Object.assign(row, await signer.sign(tx, payloadOf(row)));
      await tx.licenses.update(row);
      await appendAudit(tx, clock, actor, {
        action: 'license.renewed',
        target: `license/${lid}`,
        before: auditLicense(before, now),
        after: auditLicense(row, now),
      });
      return licenseView(row, now);
    });
  }

  revoke(actor: Actor, lid: string, reason?: string): Promise<LicenseView> {
    return runChange(this.#o.store, this.#o.hub, (tx, touch) => this.revokeWithin(tx, touch, actor, lid, reason));
  }

  /** Revokes inside a caller's change (the register revokes the old number's license after a transition). */
  async revokeWithin(tx: StoreTx, touch: Touch, actor: Actor, lid: string, reason?: string): Promise<LicenseView> {
    const now = this.#o.clock.now();
    const before = await this.#mustGet(tx, lid);
    const state = effectiveState(before, now);
    if (state !== 'active') throw new PortwardenError('conflict', `license ${lid} is already ${state}`);
    const row: LicenseRow = { ...before, state: 'revoked', revokedAt: now };
    row.modifyIndex = await touch(row.service);
    await tx.licenses.update(row);
    await appendAudit(tx, this.#o.clock, actor, {
      action: 'license.revoked',
      target: `license/${lid}`,
      before: auditLicense(before, now),
      after: { ...auditLicense(row, now), reason: reason ?? null },
    });
    return licenseView(row, now);
  }

  /**
   * Records every active license whose token has expired as `expired`, with an audit entry that
   * says why it was not renewed. Returns the lapsed licenses.
   */
  expireLapsed(actor: Actor, whyNotRenewed: (row: LicenseRow) => string): Promise<LicenseRow[]> {
    return runChange(this.#o.store, this.#o.hub, async (tx, touch) => {
      const now = this.#o.clock.now();
      const lapsed = await tx.licenses.activeExpiringBy(now);
      for (const before of lapsed) {
        const row: LicenseRow = { ...before, state: 'expired', expiredAt: before.exp };
        row.modifyIndex = await touch(row.service);
        await tx.licenses.update(row);
        await appendAudit(tx, this.#o.clock, actor, {
          action: 'license.expired',
          target: `license/${row.lid}`,
          before: auditLicense(before, now),
          after: { ...auditLicense(row, now), reason: whyNotRenewed(before) },
        });
      }
      return lapsed;
    });
  }

  async get(lid: string): Promise<LicenseView> {
    const row = await this.#o.store.read((tx) => this.#mustGet(tx, lid));
    return licenseView(row, this.#o.clock.now());
  }

  /** The raw row, for access checks that need the license's service. */
  find(lid: string): Promise<LicenseRow | undefined> {
    return this.#o.store.read((tx) => tx.licenses.get(lid));
  }

  /**
   * Every license in any state (for `licenses list --all` and the console); the lids of those
   * at risk, inside their renew window with no renewal coming (see `atRisk`); and when the
   * renew window of each current license opens (it is renewed then, or at risk from then on).
   */
  async all(service?: string): Promise<{ index: number; licenses: LicenseView[]; at_risk: string[]; renew_at: Record<string, string> }> {
    const now = this.#o.clock.now();
    const renewBefore = this.#o.policy.renew_before;
    return this.#o.store.read(async (tx) => {
      const rows = await tx.licenses.list(service === undefined ? {} : { service });
      const current = rows.filter((row) => effectiveState(row, now) === 'active');
      return {
        index: await tx.index.current(),
        licenses: rows.map((row) => licenseView(row, now)),
        at_risk: current.filter((row) => atRisk(row, now, renewBefore)).map((row) => row.lid),
        renew_at: Object.fromEntries(current.map((row) => [row.lid, new Date(renewAt(row, renewBefore)).toISOString()])),
      };
    });
  }

  /** The current state of one service (or all), and the index of its last change. */
  snapshot(service: string | undefined, afterIndex: number): Promise<LicenseSnapshot & { changedAt: number }> {
    const now = this.#o.clock.now();
    return this.#o.store.read(async (tx) => {
      const index = await tx.index.current();
      const active = await tx.licenses.list(service === undefined ? { state: 'active' } : { service, state: 'active' });
      const revoked = await tx.licenses.revokedSince(service === undefined ? { afterIndex, now } : { service, afterIndex, now });
      return {
        index,
        changedAt: service === undefined ? index : await tx.index.ofService(service),
        licenses: active.filter((row) => row.exp > now).map((row) => licenseView(row, now)),
        revoked: revoked.map((row) => row.lid),
      };
    });
  }

  /**
   * The blocking query: answers at once when the service changed after `afterIndex` (or when
   * `afterIndex` is 0 or ahead of the store, as after a restore), else when it changes, `waitMs`
   * passes, or `signal` aborts.
   */
  async watch(service: string | undefined, afterIndex: number, waitMs: number, signal?: AbortSignal): Promise<LicenseSnapshot> {
    if (afterIndex <= 0 || waitMs <= 0) return strip(await this.snapshot(service, afterIndex));
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      // wait first, then read: a commit between the two still wakes us
      const woken = this.#o.hub.wait(service, afterIndex, waitMs, stop.signal);
      const first = await this.#readShared(service, afterIndex);
      if (first.changedAt > afterIndex || afterIndex > first.view.index) return first.view;
      await woken;
      return (await this.#readShared(service, afterIndex)).view;
    } finally {
      stop.abort();
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * A change wakes every waiter of the service in the same tick, all holding the same index:
   * they share one store read (and one answer object, which the route serializes once)
   * instead of a read each. A read begun before the latest announced change is not joined, so
   * no waiter is answered with a state older than the change that woke it.
   */
  #readShared(service: string | undefined, afterIndex: number): Promise<{ changedAt: number; view: LicenseSnapshot }> {
    const key = `${this.#o.hub.generation}\n${service ?? ''}\n${afterIndex}`;
    let read = this.#reads.get(key);
    if (!read) {
      read = this.snapshot(service, afterIndex).then((snapshot) => ({ changedAt: snapshot.changedAt, view: Object.freeze(strip(snapshot)) }));
      this.#reads.set(key, read);
      const forget = () => void this.#reads.delete(key);
      read.then(forget, forget);
    }
    return read;
  }

  async #mustGet(tx: StoreTx, lid: string): Promise<LicenseRow> {
    const row = await tx.licenses.get(lid);
    if (!row) throw new PortwardenError('not_found', `no license ${lid}`);
    return row;
  }
}

function strip({ index, licenses, revoked }: LicenseSnapshot): LicenseSnapshot {
  return { index, licenses, revoked };
}

/** The claims of a row's current token (also used by drills, which re-sign a license's token). */
export function payloadOf(row: LicenseRow) {
  return {
    sub: `${row.service}/${row.portName}`,
    jti: row.jti,
    lid: row.lid,
    iat: row.iat / 1000,
    nbf: row.iat / 1000,
    exp: row.exp / 1000,
    port: { number: row.portNumber, protocol: row.protocol },
    allow: row.allow,
    ...(row.env === null ? {} : { env: row.env }),
  };
}

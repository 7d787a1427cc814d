import type { Clock } from '../../shared/clock.ts';
import type { AuthorityConfig } from '../../shared/config/authority-schema.ts';
import { formatDuration } from '../../shared/duration.ts';
import { PortwardenError } from '../../shared/errors.ts';
import { appendAudit, type Actor } from '../audit/log.ts';
import { registerChanges, runChange, type Touch } from '../changes/run-change.ts';
import type { AuthorityContext } from '../context.ts';
import type { LicenseService } from '../licenses/service.ts';
import type { PortRow } from '../store/ports.ts';
import type { Protocol } from '../../register/port-record.ts';
import type { Store, StoreTx } from '../store/store.ts';
import type { WatchHub } from '../changes/watch-hub.ts';
import { allocate } from '../../register/allocate.ts';
import { refusalError } from '../../register/constraints.ts';
import { issueForPort, licensesOf, revokeOn, type LicenseSpec } from './port-licenses.ts';
import { assertTransition, type PortKind, type PortRecord, type PortState } from '../../register/port-record.ts';
import { describeRef, liveStates, resolvePort, type PortRef } from './port-ref.ts';
import { lastUsedAt, readUsage } from './port-usage.ts';
import { portLicense, portRecord, type AllocationView, type PortDetail } from './port-view.ts';
import { policyFromConfig, type RegisterPolicy } from '../../register/policy.ts';
import { stalePorts, type StalePort } from './reclaim.ts';
import { cancelTransition, completeTransition, startTransition, type CompletionReason, type Step } from './transitions.ts';
import { keyOf, registerUses, requireNumber } from './uses.ts';

export interface RegisterOptions {
  store: Store;
  hub: WatchHub;
  clock: Clock;
  licenses: LicenseService;
  /** The `register` section of the authority configuration. */
  config: AuthorityConfig['register'];
}

/** A port asked for (`POST /v1/ports`). */
export interface PortRequest {
  service: string;
  name: string;
  env: string;
  protocol: Protocol;
  kind: PortKind;
  /** Validated and kept when given; otherwise the stable allocation picks one. */
  number?: number | undefined;
  owner: string;
  dependsOn: string[];
  reason?: string | undefined;
  /** License the port for these callers as soon as it is active (at once, or on approval). */
  license?: LicenseSpec | undefined;
}

export interface PortListFilter {
  service?: string | undefined;
  env?: string | undefined;
  state?: PortState | undefined;
  /** Only active ports unused for `stale_after`. */
  stale?: boolean | undefined;
}

/** Who approved a port that `approval: auto` let through. */
export const policyApprover = 'policy';

/**
 * The port register: request (stable allocation), approval, rejection, release, transitions,
 * cleanup and reads. Every change is one transaction that reads the register's numbers,
 * decides, writes, licenses or revokes, audits, and takes a change index under
 * `registerChanges`, so the decision and the write never part and the console hears of it.
 */
export class RegisterService {
  readonly policy: RegisterPolicy;
  readonly #o: RegisterOptions;
  readonly #listeners = new Set<() => void>();

  constructor(options: RegisterOptions) {
    this.#o = options;
    this.policy = policyFromConfig(options.config);
  }

  /** `stale_after` in milliseconds. */
  get staleAfterMs(): number {
    return this.#o.config.stale_after;
  }

  request(actor: Actor, input: PortRequest): Promise<PortDetail & { allocation: AllocationView }> {
    const { clock, licenses, config } = this.#o;
    return this.#change(async (tx, touch) => {
      const now = clock.now();
      const ref = { service: input.service, name: input.name, env: input.env, protocol: input.protocol };
      const [live] = await tx.ports.list({ ...ref, states: liveStates });
      if (live) throw new PortwardenError('conflict', `${describeRef(ref)} is already registered (port ${live.id}, ${live.state}, number ${live.number ?? 'none'}); release it first or transition it`);
      let number = input.number ?? null;
      let allocation: AllocationView = { source: 'none', range: null };
      if (input.kind === 'static') {
        const result = allocate({ ...ref, number: input.number }, this.policy, await registerUses(tx), now);
        if (!result.ok) throw refusalError(result);
        number = result.number;
        allocation = { source: result.source, range: result.range ?? null };
      }
      if (input.license && number === null) throw new PortwardenError('bad_request', 'license: an ephemeral port needs a number to be licensed');
      const auto = config.approval === 'auto';
      const row = await tx.ports.insert({
        ...ref,
        kind: input.kind,
        number,
        owner: input.owner,
        dependencies: input.dependsOn,
        state: auto ? 'active' : 'requested',
        createdAt: now,
        createdBy: actor.id,
        approvedAt: auto ? now : null,
        approvedBy: auto ? policyApprover : null,
        rejectedAt: null,
        rejectedBy: null,
        releasedAt: null,
        releasedBy: null,
        reason: input.reason ?? null,
        transition: null,
        previousNumbers: [],
        pendingLicense: auto ? null : (input.license ?? null),
      });
      const issued = auto && input.license && number !== null ? await issueForPort(tx, touch, licenses, actor, row, number, input.license) : undefined;
      await appendAudit(tx, clock, actor, {
        action: 'port.request',
        target: `port/${row.id}`,
        after: { ...portRecord(row), approval: config.approval, allocation, issued: issued ? [issued.lid] : [] },
      });
      await touch(registerChanges);
      return { ...(await detailWithin(tx, row, now)), allocation };
    });
  }

  /** `requested` → `active`; issues the license the request asked for. The number is checked again (the policy may have changed). */
  approve(actor: Actor, ref: PortRef, reason?: string): Promise<PortDetail> {
    return this.#act(actor, ref, 'port.approve', async (tx, touch, before, now) => {
      assertTransition(before.state, 'active');
      const range = before.number !== null && before.kind === 'static' ? await requireNumber(tx, this.policy, keyOf(before), before.number, now) : null;
      const after: PortRow = { ...before, state: 'active', approvedAt: now, approvedBy: actor.id, reason: reason ?? before.reason, pendingLicense: null };
      const spec = before.pendingLicense;
      const issued = spec && after.number !== null ? await issueForPort(tx, touch, this.#o.licenses, actor, after, after.number, spec) : undefined;
      return { after, audit: { range, issued: issued ? [issued.lid] : [] } };
    });
  }

  /** `requested` → `rejected`: the held number is free again at once (no caller ever used it). */
  reject(actor: Actor, ref: PortRef, reason?: string): Promise<PortDetail> {
    return this.#act(actor, ref, 'port.reject', async (_tx, _touch, before, now) => {
      assertTransition(before.state, 'rejected');
      return { after: { ...before, state: 'rejected', rejectedAt: now, rejectedBy: actor.id, reason: reason ?? before.reason, pendingLicense: null }, audit: {} };
    });
  }

  /** `active` or `transitioning` → `released`: every number cools down and every license of the port is revoked. */
  release(actor: Actor, ref: PortRef, reason?: string): Promise<PortDetail> {
    return this.#act(actor, ref, 'port.release', (tx, touch, before, now) => this.#release(tx, touch, actor, before, now, reason ?? null));
  }

  transition(actor: Actor, ref: PortRef, to: number, windowMs: number): Promise<PortDetail> {
    return this.#act(actor, ref, 'port.transition', (tx, touch, before, now) => startTransition(this.#parts(), tx, touch, actor, before, now, to, windowMs));
  }

  cancelTransition(actor: Actor, ref: PortRef): Promise<PortDetail> {
    return this.#act(actor, ref, 'port.transition.cancel', (tx, touch, before, now) => cancelTransition(this.#parts(), tx, touch, actor, before, now));
  }

  completeTransition(actor: Actor, ref: PortRef, reason: CompletionReason = 'completed'): Promise<PortDetail> {
    return this.#act(actor, ref, 'port.transition.complete', async (tx, touch, before, now) => {
      if (reason === 'window_ended' && (before.transition === null || before.transition.windowEndsAt > now)) {
        throw new PortwardenError('conflict', `the transition window of port ${before.id} has not ended`);
      }
      return completeTransition(this.#parts(), tx, touch, actor, before, now, reason);
    });
  }

  /** Ids of transitioning ports whose window has ended (the sweeper completes them). */
  async transitionsDue(): Promise<string[]> {
    const now = this.#o.clock.now();
    return (await this.#o.store.read((tx) => tx.ports.transitionsEndingBy(now))).map((row) => row.id);
  }

  /**
   * Releases every stale port (see `stalePorts`) in one change, each audited as `port.reclaim`
   * with its last access; with `dryRun`, only lists them.
   */
  reclaim(actor: Actor, dryRun: boolean): Promise<{ dry_run: boolean; stale_after: string; ports: PortRecord[] }> {
    const { clock } = this.#o;
    const answer = (ports: PortRecord[]) => ({ dry_run: dryRun, stale_after: formatDuration(this.staleAfterMs), ports });
    if (dryRun) return this.#stale().then((stale) => answer(stale.map((entry) => portRecord(entry.row, entry.lastAccessAt))));
    return this.#change(async (tx, touch) => {
      const now = clock.now();
      const released: PortRecord[] = [];
      for (const { row, lastAccessAt, idleSince } of stalePorts(await tx.ports.list({ states: ['active'] }), await readUsage(tx), now, this.staleAfterMs)) {
        const reason = `unused since ${new Date(idleSince).toISOString()} (stale_after ${formatDuration(this.staleAfterMs)})`;
        const step = await this.#release(tx, touch, actor, row, now, reason);
        await tx.ports.update(step.after);
        const after = portRecord(step.after, lastAccessAt);
        await appendAudit(tx, clock, actor, { action: 'port.reclaim', target: `port/${row.id}`, before: portRecord(row, lastAccessAt), after: { ...after, ...step.audit } });
        released.push(after);
      }
      if (released.length > 0) await touch(registerChanges);
      return answer(released);
    });
  }

  /** One port with its licenses and last access. */
  get(ref: PortRef): Promise<PortDetail> {
    return this.#o.store.read(async (tx) => detailWithin(tx, await resolvePort(tx, ref), this.#o.clock.now()));
  }

  /** Ports matching the filter, each with its last access. */
  async list(filter: PortListFilter = {}): Promise<PortRecord[]> {
    if (filter.stale) {
      const stale = await this.#stale();
      return stale.filter(({ row }) => (filter.service === undefined || row.service === filter.service) && (filter.env === undefined || row.env === filter.env)).map((entry) => portRecord(entry.row, entry.lastAccessAt));
    }
    return this.#o.store.read(async (tx) => {
      const rows = await tx.ports.list({ service: filter.service, env: filter.env, ...(filter.state ? { states: [filter.state] } : {}) });
      const usage = await readUsage(tx, filter.service);
      return rows.map((row) => portRecord(row, lastUsedAt(row, usage)));
    });
  }

  #stale(): Promise<StalePort[]> {
    return this.#o.store.read(async (tx) => stalePorts(await tx.ports.list({ states: ['active'] }), await readUsage(tx), this.#o.clock.now(), this.staleAfterMs));
  }

  async #release(tx: StoreTx, touch: Touch, actor: Actor, before: PortRow, now: number, reason: string | null): Promise<Step> {
    assertTransition(before.state, 'released');
    const held = [before.number, before.transition?.to].filter((n): n is number => n !== null && n !== undefined);
    const revoked = await revokeOn(tx, touch, this.#o.licenses, actor, before, held, now, `port released${reason ? `: ${reason}` : ''}`);
    const cooling = before.transition ? [{ number: before.transition.to, releasedAt: now }] : [];
    const after: PortRow = { ...before, state: 'released', releasedAt: now, releasedBy: actor.id, reason, transition: null, previousNumbers: [...before.previousNumbers, ...cooling] };
    return { after, audit: { revoked } };
  }

  /**
   * Hears every register change this authority commits (other authorities' arrive through
   * `store.onRegisterChange`); returns the unsubscribe.
   */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  /** One write transaction (see `runChange`); once it commits, the register's listeners hear of it. */
  async #change<T>(fn: (tx: StoreTx, touch: Touch) => Promise<T>): Promise<T> {
    const result = await runChange(this.#o.store, this.#o.hub, fn);
    for (const listener of [...this.#listeners]) listener();
    return result;
  }

  #parts() {
    return { licenses: this.#o.licenses, policy: this.policy };
  }

  /** One change to one port: resolve, step, write, audit, answer. */
  #act(actor: Actor, ref: PortRef, action: string, step: (tx: StoreTx, touch: Touch, before: PortRow, now: number) => Promise<Step>): Promise<PortDetail> {
    const { clock } = this.#o;
    return this.#change(async (tx, touch) => {
      const now = clock.now();
      const before = await resolvePort(tx, ref);
      const { after, audit } = await step(tx, touch, before, now);
      await tx.ports.update(after);
      await appendAudit(tx, clock, actor, { action, target: `port/${after.id}`, before: portRecord(before), after: { ...portRecord(after), ...audit } });
      await touch(registerChanges);
      return detailWithin(tx, after, now);
    });
  }
}

/** A port with its licenses, read inside the caller's transaction. */
export async function detailWithin(tx: StoreTx, row: PortRow, now: number): Promise<PortDetail> {
  const licenses = await licensesOf(tx, row);
  return {
    ...portRecord(row, lastUsedAt(row, await readUsage(tx, row.service))),
    pending_license: row.pendingLicense ? { allow: row.pendingLicense.allow } : null,
    licenses: licenses.map((license) => portLicense(license, now)),
  };
}

const services = new WeakMap<AuthorityContext, RegisterService>();

/** The register of an authority: one per context, shared by its routes and its sweeper. */
export function registerOf(ctx: AuthorityContext): RegisterService {
  let service = services.get(ctx);
  if (!service) {
    service = new RegisterService({ store: ctx.store, hub: ctx.hub, clock: ctx.clock, licenses: ctx.licenses, config: ctx.config.register });
    services.set(ctx, service);
  }
  return service;
}

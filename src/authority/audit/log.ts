import type { Clock } from '../../shared/clock.ts';
import type { AuditEntry } from '../store/audit.ts';
import type { StoreTx } from '../store/store.ts';

/** Who made a change: a token id, or `system` for the authority's own work (renewer, rotation). */
export interface Actor {
  id: string;
}

export const systemActor: Actor = { id: 'system' };

/** One change to append: `before`/`after` are JSON views (never a token or key). */
export interface AuditChange {
  action: string;
  target: string;
  before?: unknown;
  after?: unknown;
}

/**
 * Appends an entry inside the caller's transaction, so the change and its audit line commit
 * together. Every resource that changes state calls this (the register too).
 */
export function appendAudit(tx: StoreTx, clock: Clock, actor: Actor, change: AuditChange): Promise<number> {
  return tx.audit.append({
    at: clock.now(),
    actor: actor.id,
    action: change.action,
    target: change.target,
    before: change.before ?? null,
    after: change.after ?? null,
  });
}

/** An audit entry as the API shows it. */
export interface AuditView {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string;
  before: unknown;
  after: unknown;
  /** The chain (see `chain-hash.ts`): an export carries what an auditor needs to recompute it. */
  prev_hash: string | null;
  hash: string | null;
}

export function auditView(entry: AuditEntry): AuditView {
  const { prevHash, hash, ...fields } = entry;
  return { ...fields, at: new Date(entry.at).toISOString(), prev_hash: prevHash, hash };
}

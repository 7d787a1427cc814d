/**
 * How drills are kept: the rows and the repository behind `StoreTx.drills`. A drill is state
 * in the store, not in the CLI that started it, so its restore happens whoever is watching and
 * across authority restarts (see `../drills/service.ts`). Times are milliseconds since the epoch.
 */

import { int, intOrNull, str, strOrNull, type JsonColumn, type Row } from './columns.ts';

export type DrillKind = 'revoke' | 'expire' | 'outage';
export type DrillState = 'active' | 'restored';

/** A license an `expire` drill re-signed to lapse within seconds, and what it had before. */
export interface ShortenedLicense {
  lid: string;
  /** The token in force before the drill, and its end. */
  jti_before: string;
  expires_at_before: string;
  /** The short token the drill signed, and its end. */
  jti: string;
  expires_at: string;
  /** The renew policy before the drill; the drill sets `never` so the renewer leaves it lapsing. */
  renew_before: 'auto' | 'always' | 'never';
}

/** How a license was put back: the same `lid` re-signed, or a replacement issued under a new one. */
export interface RestoredLicense {
  /** The license the drill changed. */
  from: string;
  /** The license that admits now: `from` itself (`renewed`, `kept`), or its replacement (`reissued`). */
  lid: string;
  how: 'reissued' | 'renewed' | 'kept';
  expires_at: string;
}

/** What a drill changed at start and, once restored, how it put things back (kept as JSON). */
export interface DrillChanges {
  /** `revoke`: the lids revoked at start (revocation is final; each gets a replacement at restore). */
  revoked: string[];
  /** `expire`: the licenses re-signed to lapse. */
  shortened: ShortenedLicense[];
  /** `outage`: the request the authority refuses for the window, e.g. `GET /v1/licenses?service=payments`. */
  refused: string | null;
  restored: RestoredLicense[];
  /** Licenses the restore left alone, and why (revoked by someone during the drill, ...). */
  skipped: { lid: string; why: string }[];
}

/** The access totals of the drill's ports when it started (connections per port name). */
export interface DrillBaseline {
  ports: Record<string, number>;
}

/** One port's access totals, as the telemetry tables hold them. */
export interface DrillPortAccess {
  port: string;
  count: number;
  lastAccessAt: number;
  lastDecision: string;
  lastReason: string | null;
  lastAllowedAt: number | null;
}

/** One caller (port, identity, origin) and its latest reported connection. */
export interface DrillCallerAccess {
  port: string;
  identity: string | null;
  origin: string;
  count: number;
  lastAccessAt: number;
  lastDecision: string;
  lastReason: string | null;
}

export interface DrillRow {
  id: string;
  kind: DrillKind;
  service: string;
  /** The port name; null for an `outage`, which refuses the whole service's sync. */
  port: string | null;
  startsAt: number;
  endsAt: number;
  /** Token id of who started it. */
  actor: string;
  state: DrillState;
  changes: DrillChanges;
  baseline: DrillBaseline;
  /** The window's report as telemetry showed it at the restore (`drills.ts`), JSON; null while active. */
  observed: unknown;
  restoredAt: number | null;
  /** Token id of who stopped it early, or `system` when its window ran out. */
  restoredBy: string | null;
}

export interface DrillRepo {
  insert(row: DrillRow): Promise<void>;
  /** Replaces state, changes, observed and the restore columns of the row with the same id. */
  update(row: DrillRow): Promise<void>;
  get(id: string): Promise<DrillRow | undefined>;
  /** Newest first. */
  list(filter: { service?: string; state?: DrillState; limit: number }): Promise<DrillRow[]>;
  /** Active drills whose window ended at or before `at`, earliest end first. */
  dueBy(at: number): Promise<DrillRow[]>;
  /** The active `outage` drill of `service` whose window holds `at`, if any. */
  outageAt(service: string, at: number): Promise<DrillRow | undefined>;
  /**
   * The access telemetry of a service's ports (all, or `ports`): every port's totals, and the
   * callers last seen at or after `since` (most recent first, at most `limit`).
   */
  access(service: string, ports: readonly string[] | undefined, since: number, limit: number): Promise<{ ports: DrillPortAccess[]; callers: DrillCallerAccess[] }>;
}

/** A stored row as a `DrillPortAccess`. */
export function drillPortAccessFromRow(row: Row): DrillPortAccess {
  return {
    port: str(row.port),
    count: int(row.count),
    lastAccessAt: int(row.last_access_at),
    lastDecision: str(row.last_decision),
    lastReason: strOrNull(row.last_reason),
    lastAllowedAt: intOrNull(row.last_allowed_at),
  };
}

/** A stored row as a `DrillCallerAccess`. */
export function drillCallerAccessFromRow(row: Row): DrillCallerAccess {
  const identity = str(row.identity);
  return {
    port: str(row.port),
    identity: identity === '' ? null : identity,
    origin: str(row.origin),
    count: int(row.count),
    lastAccessAt: int(row.last_access_at),
    lastDecision: str(row.last_decision),
    lastReason: strOrNull(row.last_reason),
  };
}

/** A stored row as a `DrillRow`; `json` reads a JSON column as the backend returns it. */
export function drillFromRow(row: Row, json: JsonColumn): DrillRow {
  return {
    id: str(row.id),
    kind: str(row.kind) as DrillKind,
    service: str(row.service),
    port: strOrNull(row.port),
    startsAt: int(row.starts_at),
    endsAt: int(row.ends_at),
    actor: str(row.actor),
    state: str(row.state) as DrillState,
    changes: json(row.changes) as DrillRow['changes'],
    baseline: json(row.baseline) as DrillRow['baseline'],
    observed: json(row.observed),
    restoredAt: intOrNull(row.restored_at),
    restoredBy: strOrNull(row.restored_by),
  };
}

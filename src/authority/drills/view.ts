import type { DrillCallerAccess, DrillChanges, DrillKind, DrillPortAccess, DrillRow, DrillState } from '../store/drills.ts';

/** Callers listed in a drill's report; the report says how many more were seen. */
export const reportCallerLimit = 1_000;
/** Callers read for a report (the most recent first): the counts by reason cover at most these. */
export const reportCallerScan = 10_000;

/**
 * What the access telemetry shows of a drill's window. Sidecars report refusals like any
 * access, summed per caller (port, identity, origin) every `telemetry.report_interval`; the
 * authority keeps running totals and each caller's latest decision, not a history. So the
 * report gives, per port, the connections since the start (admitted and refused) and, per
 * caller seen since the start, its latest decision and deny reason. A restored drill keeps the
 * report as it stood at the restore, before callers were admitted again; the last few seconds
 * of the window may not have been reported by then.
 */
export interface DrillReport {
  /** When the totals were read. */
  as_of: string;
  /** Connections to the drill's ports since it started, admitted and refused. */
  connections: number;
  /** Callers seen since the start whose latest connection was refused, counted by deny reason. */
  refused_by_reason: Record<string, number>;
  /** Callers seen since the start whose latest connection was admitted. */
  admitted_callers: number;
  ports: {
    port: string;
    connections: number;
    /** The latest admitted connection (any time); later than `starts_at` means the port admitted during the drill. */
    last_allowed_at: string | null;
  }[];
  callers: {
    port: string;
    identity: string | null;
    origin: string;
    decision: string;
    reason: string | null;
    last_access: string;
  }[];
  /** Callers seen since the start beyond `reportCallerLimit`, left out of `callers`. */
  callers_left_out: number;
}

/** A drill as the API shows it. Times are ISO 8601. */
export interface DrillView {
  id: string;
  kind: DrillKind;
  service: string;
  /** The port name; null for an `outage`, which covers the whole service. */
  port: string | null;
  state: DrillState;
  starts_at: string;
  ends_at: string;
  /** Time left in the window by the authority's clock; 0 once it ran out or the drill was restored. */
  remaining_ms: number;
  /** Token id of who started it. */
  actor: string;
  restored_at: string | null;
  /** Token id of who stopped it early, or `system` when its window ran out. */
  restored_by: string | null;
  changes: DrillChanges;
  /** What was refused meanwhile (see `DrillReport`); left out of lists and audit entries. */
  telemetry?: DrillReport;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function drillView(row: DrillRow, now: number, telemetry?: DrillReport): DrillView {
  const view: DrillView = {
    id: row.id,
    kind: row.kind,
    service: row.service,
    port: row.port,
    state: row.state,
    starts_at: iso(row.startsAt),
    ends_at: iso(row.endsAt),
    remaining_ms: row.state === 'active' ? Math.max(0, row.endsAt - now) : 0,
    actor: row.actor,
    restored_at: row.restoredAt === null ? null : iso(row.restoredAt),
    restored_by: row.restoredBy,
    changes: row.changes,
  };
  if (telemetry !== undefined) view.telemetry = telemetry;
  return view;
}

/** The report of a drill from the access totals now and its baseline (see `DrillReport`). */
export function drillReport(row: DrillRow, access: { ports: DrillPortAccess[]; callers: DrillCallerAccess[] }, now: number): DrillReport {
  const ports = access.ports.map((port) => ({
    port: port.port,
    connections: Math.max(0, port.count - (row.baseline.ports[port.port] ?? 0)),
    last_allowed_at: port.lastAllowedAt === null ? null : iso(port.lastAllowedAt),
  }));
  const refused: Record<string, number> = {};
  let admitted = 0;
  for (const caller of access.callers) {
    if (caller.lastDecision === 'allow') admitted++;
    else refused[caller.lastReason ?? 'unknown'] = (refused[caller.lastReason ?? 'unknown'] ?? 0) + 1;
  }
  const callers = access.callers.slice(0, reportCallerLimit).map((caller) => ({
    port: caller.port,
    identity: caller.identity,
    origin: caller.origin,
    decision: caller.lastDecision,
    reason: caller.lastReason,
    last_access: iso(caller.lastAccessAt),
  }));
  return {
    as_of: iso(now),
    connections: ports.reduce((sum, port) => sum + port.connections, 0),
    refused_by_reason: refused,
    admitted_callers: admitted,
    ports,
    callers,
    callers_left_out: access.callers.length - callers.length,
  };
}

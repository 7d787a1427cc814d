import type { CallerAccessRow, PortAccessRow } from '../store/access.ts';
import type { LicenseRow } from '../store/licenses.ts';
import type { StoreTx } from '../store/store.ts';

/** Callers listed by default in an access answer (`?limit=` raises it up to `maxCallers`). */
export const defaultCallers = 100;
export const maxCallers = 1_000;

/**
 * One caller of a port as the API shows it (`access` of `GET /v1/licenses/{lid}`, `callers`
 * of the port access answer): connections and bytes summed, first and last access, and the
 * decision of the latest connection. Times are ISO 8601.
 */
export interface CallerAccessView {
  port: string;
  /** Null when the caller presented no identity. */
  identity: string | null;
  /** The caller's IP address (source ports are not kept). */
  origin: string;
  count: number;
  bytes_in: number;
  bytes_out: number;
  first_access_at: string;
  last_access_at: string;
  last_decision: 'allow' | 'deny';
  last_reason: string | null;
}

/** A port's totals over every caller. */
export interface PortAccessView {
  count: number;
  bytes_in: number;
  bytes_out: number;
  first_access_at: string;
  /** The latest connection, admitted or refused. */
  last_access_at: string;
  last_decision: 'allow' | 'deny';
  last_reason: string | null;
  /** The latest admitted connection. */
  last_allowed_at: string | null;
}

/** The answer of `GET /v1/ports/{id}/access` and `GET /v1/access`. */
export interface PortAccessAnswer {
  service: string;
  port: string;
  /** Null when nothing ever connected. */
  totals: PortAccessView | null;
  /** Most recent first. */
  callers: CallerAccessView[];
}

const iso = (ms: number) => new Date(ms).toISOString();

export function callerAccessView(row: CallerAccessRow): CallerAccessView {
  return {
    port: row.port,
    identity: row.identity,
    origin: row.origin,
    count: row.count,
    bytes_in: row.bytesIn,
    bytes_out: row.bytesOut,
    first_access_at: iso(row.firstAccessAt),
    last_access_at: iso(row.lastAccessAt),
    last_decision: row.lastDecision,
    last_reason: row.lastReason,
  };
}

export function portAccessView(row: PortAccessRow): PortAccessView {
  return {
    count: row.count,
    bytes_in: row.bytesIn,
    bytes_out: row.bytesOut,
    first_access_at: iso(row.firstAccessAt),
    last_access_at: iso(row.lastAccessAt),
    last_decision: row.lastDecision,
    last_reason: row.lastReason,
    last_allowed_at: row.lastAllowedAt === null ? null : iso(row.lastAllowedAt),
  };
}

/**
 * The last access of a service's port, by the port's name as sidecars configure it (the
 * register's `name`): what the register's stale listing reads. `lastAccessAt` counts every
 * connection, refused ones included (someone still dials the port); `lastAllowedAt` only
 * admitted ones. Undefined when nothing ever connected. Call it inside a store read or
 * transaction: `store.read((tx) => lastAccessByPort(tx, 'payments', 'api'))`.
 */
export function lastAccessByPort(tx: Pick<StoreTx, 'access'>, service: string, portName: string): Promise<PortAccessRow | undefined> {
  return tx.access.port(service, portName);
}

/** A port's totals and its most recent callers. */
export async function portAccess(tx: Pick<StoreTx, 'access'>, service: string, portName: string, limit = defaultCallers): Promise<PortAccessAnswer> {
  const totals = await tx.access.port(service, portName);
  const callers = await tx.access.callers({ service, ports: [portName], limit });
  return { service, port: portName, totals: totals ? portAccessView(totals) : null, callers: callers.map(callerAccessView) };
}

/**
 * The callers of a license's port since the license was first issued, most recent first.
 * Sidecars report a port by its configured name (older reports by number), and a license
 * names its port the same way, so both are looked up.
 */
export async function licenseAccess(tx: Pick<StoreTx, 'access'>, license: LicenseRow, limit = defaultCallers): Promise<CallerAccessView[]> {
  const ports = [license.portName, String(license.portNumber)];
  const rows = await tx.access.callers({ service: license.service, ports, since: license.createdAt, limit });
  return rows.map(callerAccessView);
}

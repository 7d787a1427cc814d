/** Access totals per caller and per port as stored: the row, its repository (implemented by sqlite/ and postgres/), and the row mapper both share. */
import { int, intOrNull, str, strOrNull, type Row } from './columns.ts';

export type AccessDecision = 'allow' | 'deny';

/**
 * What one summed access record adds, already scoped to a service: `count` connections of
 * one caller (identity, origin address) to one port, between `firstAccessAt` and `lastAccessAt`.
 */
export interface AccessInput {
  service: string;
  /** The port's name in the sidecar configuration (or its number, as text). */
  port: string;
  /** Null when the caller had no identity. */
  identity: string | null;
  /** The caller's IP address, without the source port. */
  origin: string;
  count: number;
  bytesIn: number;
  bytesOut: number;
  firstAccessAt: number;
  lastAccessAt: number;
  /** Decision and deny reason of the latest connection in the record. */
  decision: AccessDecision;
  reason: string | null;
}

/** The totals of one caller on one port: counts and bytes summed, first/last access widened. */
export interface CallerAccessRow {
  service: string;
  port: string;
  identity: string | null;
  origin: string;
  count: number;
  bytesIn: number;
  bytesOut: number;
  firstAccessAt: number;
  lastAccessAt: number;
  lastDecision: AccessDecision;
  lastReason: string | null;
}

/** The totals of one port, over every caller (kept when old callers are pruned). */
export interface PortAccessRow {
  service: string;
  port: string;
  count: number;
  bytesIn: number;
  bytesOut: number;
  firstAccessAt: number;
  /** Any connection, admitted or refused. */
  lastAccessAt: number;
  lastDecision: AccessDecision;
  lastReason: string | null;
  /** The latest connection that was admitted; null when every one was refused. */
  lastAllowedAt: number | null;
}

export interface CallerAccessQuery {
  service?: string;
  /** Any of these port names. */
  ports?: readonly string[];
  /** Only callers whose last access is at or after this. */
  since?: number;
  /** Most recent first; at most this many. */
  limit: number;
}

/** Access totals per caller (service, port, identity, origin) and per port. */
export interface AccessRepo {
  /** Adds one record to its caller's and its port's totals (an upsert of each). */
  record(input: AccessInput): Promise<void>;
  /** Callers, most recent last access first. */
  callers(query: CallerAccessQuery): Promise<CallerAccessRow[]>;
  /** One port's totals; undefined when nothing ever connected. */
  port(service: string, port: string): Promise<PortAccessRow | undefined>;
  /** Every port's totals, of one service or all, by service and port. */
  ports(service?: string): Promise<PortAccessRow[]>;
  /** Forgets callers whose last access is before `before` (their ports keep the totals); returns how many. */
  pruneCallers(before: number): Promise<number>;
}

/** A stored row as a `CallerAccessRow`. */
export function callerAccessFromRow(row: Row): CallerAccessRow {
  const identity = str(row.identity);
  return {
    service: str(row.service),
    port: str(row.port),
    identity: identity === '' ? null : identity,
    origin: str(row.origin),
    count: int(row.count),
    bytesIn: int(row.bytes_in),
    bytesOut: int(row.bytes_out),
    firstAccessAt: intOrNull(row.first_access_at) ?? int(row.last_access_at),
    lastAccessAt: int(row.last_access_at),
    lastDecision: str(row.last_decision) as AccessDecision,
    lastReason: strOrNull(row.last_reason),
  };
}

/** A stored row as a `PortAccessRow`. */
export function portAccessFromRow(row: Row): PortAccessRow {
  return {
    service: str(row.service),
    port: str(row.port),
    count: int(row.count),
    bytesIn: int(row.bytes_in),
    bytesOut: int(row.bytes_out),
    firstAccessAt: int(row.first_access_at),
    lastAccessAt: int(row.last_access_at),
    lastDecision: str(row.last_decision) as AccessDecision,
    lastReason: strOrNull(row.last_reason),
    lastAllowedAt: intOrNull(row.last_allowed_at),
  };
}

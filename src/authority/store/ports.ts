/** The register's ports as stored: the row, its repository (implemented by sqlite/ and postgres/), and the row mapper both share. */
import type { Protocol } from '../../register/port-record.ts';
import type { RenewPolicy } from './licenses.ts';
import { int, intOrNull, str, strOrNull, type Row, type JsonColumn } from './columns.ts';

/** A port of the register as stored; the API shows it as a `PortRecord` (ISO dates). */
export interface PortRow {
  /** Assigned by the store on insert (decimal digits). */
  id: string;
  service: string;
  name: string;
  env: string;
  protocol: Protocol;
  kind: 'static' | 'ephemeral';
  number: number | null;
  owner: string;
  /** `service/name` of the ports this one calls. */
  dependencies: string[];
  state: 'requested' | 'active' | 'transitioning' | 'released' | 'rejected';
  createdAt: number;
  createdBy: string;
  approvedAt: number | null;
  approvedBy: string | null;
  rejectedAt: number | null;
  rejectedBy: string | null;
  releasedAt: number | null;
  releasedBy: string | null;
  reason: string | null;
  /** While transitioning: the new number and when the old one is released. */
  transition: { to: number; windowEndsAt: number } | null;
  /** Numbers given up by transitions; they cool down like released ones. */
  previousNumbers: { number: number; releasedAt: number }[];
  /** A license asked for with the request, issued when the port becomes active. */
  pendingLicense: { allow: string[]; ttlMs?: number | undefined; renew?: RenewPolicy | undefined } | null;
}

export interface PortFilter {
  service?: string;
  name?: string;
  env?: string;
  protocol?: Protocol;
  states?: readonly PortRow['state'][];
}

/**
 * The register's ports. `insert` and `update` also keep the table of held numbers: a number
 * held twice in one env and protocol is refused by the store itself (`port_taken`), and a
 * second live record of one port (service, name, env, protocol) is a `conflict`.
 */
export interface PortRepo {
  /** Stores a new port and returns it with its id. */
  insert(row: Omit<PortRow, 'id'>): Promise<PortRow>;
  /** Replaces every mutable column of the row with the same id. */
  update(row: PortRow): Promise<void>;
  get(id: string): Promise<PortRow | undefined>;
  /** Ports matching the filter, by service, name, env, protocol, then id (oldest first). */
  list(filter?: PortFilter): Promise<PortRow[]>;
  /** Transitioning ports whose window ends at or before `at`, earliest first. */
  transitionsEndingBy(at: number): Promise<PortRow[]>;
}

/** States in which a port holds its number(s). */
const holding = new Set<PortRow['state']>(['requested', 'active', 'transitioning']);

/** The numbers a row holds: its number and a transition's target, while it is live and static. Both backends keep them in `port_numbers`. */
export function heldNumbers(row: Pick<PortRow, 'state' | 'kind' | 'number' | 'transition'>): number[] {
  if (!holding.has(row.state) || row.kind !== 'static' || row.number === null) return [];
  return row.state === 'transitioning' && row.transition ? [row.number, row.transition.to] : [row.number];
}

/** A stored row as a `PortRow`; `json` reads a JSON column as the backend returns it. */
export function portFromRow(row: Row, json: JsonColumn): PortRow {
  const to = intOrNull(row.transition_to);
  const endsAt = intOrNull(row.transition_ends_at);
  return {
    id: String(int(row.id)),
    service: str(row.service),
    name: str(row.name),
    env: str(row.env),
    protocol: str(row.protocol) as PortRow['protocol'],
    kind: str(row.kind) as PortRow['kind'],
    number: intOrNull(row.number),
    owner: str(row.owner),
    dependencies: json(row.dependencies) as string[],
    state: str(row.state) as PortRow['state'],
    createdAt: int(row.created_at),
    createdBy: str(row.created_by),
    approvedAt: intOrNull(row.approved_at),
    approvedBy: strOrNull(row.approved_by),
    rejectedAt: intOrNull(row.rejected_at),
    rejectedBy: strOrNull(row.rejected_by),
    releasedAt: intOrNull(row.released_at),
    releasedBy: strOrNull(row.released_by),
    reason: strOrNull(row.reason),
    transition: to !== null && endsAt !== null ? { to, windowEndsAt: endsAt } : null,
    previousNumbers: json(row.previous_numbers) as PortRow['previousNumbers'],
    pendingLicense: json(row.pending_license) as PortRow['pendingLicense'],
  };
}

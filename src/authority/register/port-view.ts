import { effectiveState } from '../licenses/view.ts';
import type { LicenseRow, LicenseState } from '../store/licenses.ts';
import type { PortRow } from '../store/ports.ts';
import type { Protocol } from '../../register/port-record.ts';
import type { PortRecord } from '../../register/port-record.ts';

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

/** A stored port as the API, the audit log and snapshots show it (ISO dates). */
export function portRecord(row: PortRow, lastAccessAt: number | null = null): PortRecord {
  return {
    id: row.id,
    service: row.service,
    name: row.name,
    env: row.env,
    protocol: row.protocol,
    kind: row.kind,
    number: row.number,
    owner: row.owner,
    dependencies: row.dependencies,
    state: row.state,
    created_at: iso(row.createdAt),
    created_by: row.createdBy,
    approved_at: isoOrNull(row.approvedAt),
    approved_by: row.approvedBy,
    rejected_at: isoOrNull(row.rejectedAt),
    rejected_by: row.rejectedBy,
    released_at: isoOrNull(row.releasedAt),
    released_by: row.releasedBy,
    reason: row.reason,
    transition: row.transition === null ? null : { to: row.transition.to, window_ends_at: iso(row.transition.windowEndsAt) },
    last_access_at: isoOrNull(lastAccessAt),
    previous_numbers: row.previousNumbers.map((previous) => ({ number: previous.number, released_at: iso(previous.releasedAt) })),
  };
}

/** One license of a port, as `ports show` lists it (never the token). */
export interface PortLicense {
  lid: string;
  number: number;
  protocol: Protocol;
  state: LicenseState;
  allow: string[];
  expires_at: string;
  last_access_at: string | null;
}

export function portLicense(row: LicenseRow, now: number): PortLicense {
  return {
    lid: row.lid,
    number: row.portNumber,
    protocol: row.protocol,
    state: effectiveState(row, now),
    allow: row.allow,
    expires_at: iso(row.exp),
    last_access_at: isoOrNull(row.lastAccessAt),
  };
}

/** A port with its licenses: what `GET /v1/ports/{id}` and every change answer. */
export type PortDetail = PortRecord & {
  /** The pending request's license (manual approval): issued when the port is approved. */
  pending_license: { allow: string[] } | null;
  licenses: PortLicense[];
};

/** How a requested number was found (see `allocate`), answered by `POST /v1/ports`. */
export interface AllocationView {
  source: 'explicit' | 'existing' | 'other_env' | 'hash' | 'none';
  range: string | null;
}

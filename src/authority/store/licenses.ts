/** Licenses as stored: the row, its repository (implemented by sqlite/ and postgres/), and the row mapper both share. */
import type { Protocol } from '../../register/port-record.ts';
import { int, intOrNull, str, strOrNull, type Row, type JsonColumn } from './columns.ts';

export type LicenseState = 'active' | 'revoked' | 'expired';

export type RenewPolicy = 'auto' | 'always' | 'never';

/** A license as stored: the license (`lid`) and its current token (`jti`). */
export interface LicenseRow {
  lid: string;
  service: string;
  portName: string;
  portNumber: number;
  protocol: Protocol;
  allow: string[];
  env: string | null;
  renew: RenewPolicy;
  ttlMs: number;
  state: LicenseState;
  /** First issue of the `lid`. */
  createdAt: number;
  /** Renewals stop here: `createdAt + max_lifetime`. */
  maxUntil: number;
  createdBy: string;
  jti: string;
  kid: string;
  token: string;
  /** The current token's `iat`/`nbf` and `exp`, in milliseconds (whole seconds). */
  iat: number;
  exp: number;
  renewals: number;
  revokedAt: number | null;
  expiredAt: number | null;
  lastAccessAt: number | null;
  /** The change index that created the license and the one that last changed it. */
  createIndex: number;
  modifyIndex: number;
}

export interface LicenseFilter {
  service?: string;
  state?: LicenseState;
}

export interface LicenseRepo {
  insert(row: LicenseRow): Promise<void>;
  /** Replaces every mutable column of the row with the same `lid`. */
  update(row: LicenseRow): Promise<void>;
  get(lid: string): Promise<LicenseRow | undefined>;
  list(filter?: LicenseFilter): Promise<LicenseRow[]>;
  /** Active licenses whose token expires at or before `at`, earliest first. */
  activeExpiringBy(at: number): Promise<LicenseRow[]>;
  /** Revoked licenses whose last token is still unexpired at `now`, revoked after `afterIndex`. */
  revokedSince(filter: { service?: string; afterIndex: number; now: number }): Promise<LicenseRow[]>;
  /** Raises `lastAccessAt` (never lowers it) on the active licenses of a service's port. Returns how many. */
  touchAccess(service: string, port: { name?: string; number?: number }, at: number): Promise<number>;
  countByState(): Promise<Record<LicenseState, number>>;
}

/** A stored row as a `LicenseRow`; `json` reads a JSON column as the backend returns it. */
export function licenseFromRow(row: Row, json: JsonColumn): LicenseRow {
  return {
    lid: str(row.lid),
    service: str(row.service),
    portName: str(row.port_name),
    portNumber: int(row.port_number),
    protocol: str(row.protocol) as LicenseRow['protocol'],
    allow: json(row.allow) as string[],
    env: strOrNull(row.env),
    renew: str(row.renew) as LicenseRow['renew'],
    ttlMs: int(row.ttl_ms),
    state: str(row.state) as LicenseState,
    createdAt: int(row.created_at),
    maxUntil: int(row.max_until),
    createdBy: str(row.created_by),
    jti: str(row.jti),
    kid: str(row.kid),
    token: str(row.token),
    iat: int(row.iat),
    exp: int(row.exp),
    renewals: int(row.renewals),
    revokedAt: intOrNull(row.revoked_at),
    expiredAt: intOrNull(row.expired_at),
    lastAccessAt: intOrNull(row.last_access_at),
    createIndex: int(row.create_index),
    modifyIndex: int(row.modify_index),
  };
}

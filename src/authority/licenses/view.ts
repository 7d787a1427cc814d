import { formatDuration } from '../../shared/duration.ts';
import type { CallerAccessView } from '../access/last-access.ts';
import type { LicenseRow, LicenseState, RenewPolicy } from '../store/licenses.ts';
import type { Protocol } from '../../register/port-record.ts';

/**
 * A license as the API returns it (`GET /v1/licenses/{lid}`, the items of `GET /v1/licenses`,
 * and the answers of issue, renew and revoke). Times are ISO 8601.
 */
export interface LicenseView {
  lid: string;
  /** The current token's id. */
  jti: string;
  kid: string;
  service: string;
  port_name: string;
  /** `<service>/<port_name>`, the token's `sub`. */
  sub: string;
  port: { number: number; protocol: Protocol };
  allow: string[];
  env: string | null;
  renew: RenewPolicy;
  ttl: string;
  /** `expired` once the current token's `exp` has passed, even before the renewer records it. */
  state: LicenseState;
  issued_at: string;
  /** The current token's `iat`/`nbf`. */
  not_before: string;
  expires_at: string;
  /** Renewals stop here (issue + `licenses.max_lifetime`); then the license must be issued anew. */
  max_lifetime_until: string;
  renewals: number;
  revoked_at: string | null;
  last_access_at: string | null;
  create_index: number;
  modify_index: number;
  /** The compact JWS; left out of audit entries. */
  token?: string;
  /** `GET /v1/licenses/{lid}` only: the port's callers since the license was issued, most recent first. */
  access?: CallerAccessView[];
}

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

/** The state a reader should see now: an active license past its `exp` has lapsed. */
export function effectiveState(row: LicenseRow, now: number): LicenseState {
  return row.state === 'active' && row.exp <= now ? 'expired' : row.state;
}

export function licenseView(row: LicenseRow, now: number, { withToken = true } = {}): LicenseView {
  const view: LicenseView = {
    lid: row.lid,
    jti: row.jti,
    kid: row.kid,
    service: row.service,
    port_name: row.portName,
    sub: `${row.service}/${row.portName}`,
    port: { number: row.portNumber, protocol: row.protocol },
    allow: row.allow,
    env: row.env,
    renew: row.renew,
    ttl: formatDuration(row.ttlMs),
    state: effectiveState(row, now),
    issued_at: iso(row.createdAt),
    not_before: iso(row.iat),
    expires_at: iso(row.exp),
    max_lifetime_until: iso(row.maxUntil),
    renewals: row.renewals,
    revoked_at: isoOrNull(row.revokedAt),
    last_access_at: isoOrNull(row.lastAccessAt),
    create_index: row.createIndex,
    modify_index: row.modifyIndex,
  };
  if (withToken) view.token = row.token;
  return view;
}

/** The view kept in audit entries: everything but the token. */
export function auditLicense(row: LicenseRow, now: number): LicenseView {
  return licenseView(row, now, { withToken: false });
}

/**
 * Stored rows to the store's types, shared by both backends. The only difference between them
 * is how a JSON column comes back: SQLite gives its text, PostgreSQL (jsonb) the parsed value.
 */
import type { AccessDecision, AuditEntry, CallerAccessRow, InventoryListenerRow, InventoryRow, KeyRow, LicenseRow, LicenseState, PortAccessRow, PortRow, TokenRow } from './store.ts';
import type { DrillCallerAccess, DrillKind, DrillPortAccess, DrillRow, DrillState } from './drills.ts';
import { int, intOrNull, str, strOrNull } from './columns.ts';

type Row = Record<string, unknown>;

/** Reads a JSON column as the backend returns it; null stays null. */
export type JsonColumn = (value: unknown) => unknown;

/** PostgreSQL's: jsonb arrives parsed. */
export const parsedJson: JsonColumn = (value) => value ?? null;

export interface RowMappers {
  drillPortAccess(row: Row): DrillPortAccess;
  drillCallerAccess(row: Row): DrillCallerAccess;
  callers(row: Row): CallerAccessRow;
  portAccess(row: Row): PortAccessRow;
  audit(row: Row): AuditEntry;
  drills(row: Row): DrillRow;
  licenses(row: Row): LicenseRow;
  ports(row: Row): PortRow;
  tokens(row: Row): TokenRow;
  keys(row: Row): KeyRow;
  inventory(row: Row): InventoryRow;
}

export function rowMappers(json: JsonColumn): RowMappers {
  return {
    drillPortAccess(row: Row): DrillPortAccess {
      return {
        port: str(row.port),
        count: int(row.count),
        lastAccessAt: int(row.last_access_at),
        lastDecision: str(row.last_decision),
        lastReason: strOrNull(row.last_reason),
        lastAllowedAt: intOrNull(row.last_allowed_at),
      };
    },
    drillCallerAccess(row: Row): DrillCallerAccess {
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
    },
    callers(row: Row): CallerAccessRow {
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
    },
    portAccess(row: Row): PortAccessRow {
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
    },
    audit(row: Row): AuditEntry {
    return {
      id: int(row.id),
      at: int(row.at),
      actor: str(row.actor),
      action: str(row.action),
      target: str(row.target),
      before: json(row.before),
      after: json(row.after),
    };
    },
    drills(row: Row): DrillRow {
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
    },
    licenses(row: Row): LicenseRow {
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
    },
    ports(row: Row): PortRow {
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
    },
    tokens(row: Row): TokenRow {
    return {
      id: str(row.id),
      name: strOrNull(row.name),
      role: str(row.role) as TokenRow['role'],
      service: strOrNull(row.service),
      hash: Buffer.from(row.hash as Uint8Array),
      createdAt: int(row.created_at),
      createdBy: str(row.created_by),
      revokedAt: intOrNull(row.revoked_at),
    };
    },
    keys(row: Row): KeyRow {
    return {
      kid: str(row.kid),
      alg: 'EdDSA',
      publicJwk: json(row.public_jwk) as KeyRow['publicJwk'],
      privatePem: str(row.private_pem),
      createdAt: int(row.created_at),
      retiredAt: intOrNull(row.retired_at),
      lastExp: int(row.last_exp),
    };
    },
    inventory(row: Row): InventoryRow {
    return {
      service: str(row.service),
      reportedAt: int(row.reported_at),
      sentAt: int(row.sent_at),
      listeners: json(row.listeners) as InventoryListenerRow[],
      sidecarPorts: json(row.sidecar_ports) as number[],
    };
    },
  };
}

/** The audit log as stored: the row, its repository (implemented by sqlite/ and postgres/), and the row mapper both share. */
import { int, str, type Row, type JsonColumn } from './columns.ts';

export interface AuditEntry {
  id: number;
  at: number;
  /** Token id of who did it, or `system` for the authority itself. */
  actor: string;
  /** `license.issued`, `license.renewed`, `license.revoked`, `license.expired`, `key.rotated`, `token.created`, ... */
  action: string;
  /** `license/<lid>`, `token/<id>`, `key/<kid>`, ... */
  target: string;
  before: unknown;
  after: unknown;
}

export interface AuditQuery {
  since?: number;
  actor?: string;
  /** Exact, or a prefix when it ends in `*`. */
  target?: string;
  action?: string;
  limit: number;
}

export interface AuditRepo {
  append(entry: Omit<AuditEntry, 'id'>): Promise<number>;
  query(query: AuditQuery): Promise<AuditEntry[]>;
}

/** A stored row as a `AuditEntry`; `json` reads a JSON column as the backend returns it. */
export function auditEntryFromRow(row: Row, json: JsonColumn): AuditEntry {
  return {
    id: int(row.id),
    at: int(row.at),
    actor: str(row.actor),
    action: str(row.action),
    target: str(row.target),
    before: json(row.before),
    after: json(row.after),
  };
}

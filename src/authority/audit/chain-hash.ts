import { createHash } from 'node:crypto';
import type { AuditEntry } from '../store/audit.ts';

/**
 * The audit log's hash chain, as documented in docs/concepts.md (Audit log): each row's `hash`
 * is the SHA-256 (lowercase hex) of the UTF-8 bytes of the RFC 8785 (JCS) canonical JSON of
 *
 *   { "v": 1, "id", "at", "actor", "action", "target", "before", "after", "prev_hash" }
 *
 * where `at` is milliseconds since the epoch, `before`/`after` are the stored JSON documents
 * (null when absent), and `prev_hash` is the previous row's `hash` (by id), or 64 zeros for the
 * first row of the store. Changing any field of any row, or removing or reordering a row,
 * breaks the chain at that row or the one after it.
 */

/** The `prev_hash` of a store's first row. */
export const genesisHash = '0'.repeat(64);

/** What a row's hash covers: every field of the row but the chain's own. */
export type ChainedFields = Omit<AuditEntry, 'prevHash' | 'hash'>;

/** The row's hash given the previous row's. */
export function auditHash(row: ChainedFields, prevHash: string): string {
  const document = { v: 1, id: row.id, at: row.at, actor: row.actor, action: row.action, target: row.target, before: row.before ?? null, after: row.after ?? null, prev_hash: prevHash };
  return createHash('sha256').update(canonicalJson(document), 'utf8').digest('hex');
}

/**
 * RFC 8785 canonical JSON for the values JSON text parses to: object members sorted by their
 * names' UTF-16 code units, no whitespace, strings and numbers as ECMAScript serializes them
 * (which is what RFC 8785 prescribes).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('a non-finite number has no JSON form');
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
  const members = Object.entries(value as Record<string, unknown>)
    .filter(([, item]) => item !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${members.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
}

/** A value as it reads back from a JSON column: what the hash is computed over when the row is written. */
export function asStored(value: unknown): unknown {
  return value === undefined || value === null ? null : (JSON.parse(JSON.stringify(value)) as unknown);
}

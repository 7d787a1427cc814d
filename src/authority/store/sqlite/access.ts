import type { DatabaseSync, SQLInputValue } from 'node:sqlite';
import type { AccessRepo } from '../access.ts';
import { rowMappers } from '../rows.ts';
import { json } from '../columns.ts';

const mapRow = rowMappers(json);

// `excluded` is the incoming record: totals add up, the window widens, and the decision and
// reason follow whichever side holds the later access (the stored one on a tie)
const latest = (column: string) => `CASE WHEN excluded.last_access_at > last_access_at THEN excluded.${column} ELSE ${column} END`;
const sums = `count = count + excluded.count, bytes_in = bytes_in + excluded.bytes_in, bytes_out = bytes_out + excluded.bytes_out,
  first_access_at = min(coalesce(first_access_at, excluded.first_access_at), excluded.first_access_at),
  last_decision = ${latest('last_decision')}, last_reason = ${latest('last_reason')},
  last_access_at = max(last_access_at, excluded.last_access_at)`;

/**
 * Access totals in SQLite: `access_last` per caller (identity '' when none) and `access_port`
 * per port. Both are upserts that only add and widen, so applying records in any order gives
 * the same totals; the batch-id claim in the same transaction keeps a retry from adding twice.
 */
export function sqliteAccess(db: DatabaseSync): AccessRepo {
  const caller = db.prepare(`INSERT INTO access_last
      (service, port, identity, origin, count, bytes_in, bytes_out, first_access_at, last_access_at, last_decision, last_reason)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (service, port, identity, origin) DO UPDATE SET ${sums}`);
  // the assignments of an upsert all read the old row, so last_allowed_at sees the old last_access_at
  const port = db.prepare(`INSERT INTO access_port
      (service, port, count, bytes_in, bytes_out, first_access_at, last_access_at, last_decision, last_reason, last_allowed_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (service, port) DO UPDATE SET ${sums},
      last_allowed_at = CASE WHEN excluded.last_allowed_at IS NULL THEN last_allowed_at
        ELSE max(coalesce(last_allowed_at, excluded.last_allowed_at), excluded.last_allowed_at) END`);
  const onePort = db.prepare('SELECT * FROM access_port WHERE service = ? AND port = ?');
  const prune = db.prepare('DELETE FROM access_last WHERE last_access_at < ?');
  return {
    async record(r) {
      caller.run(r.service, r.port, r.identity ?? '', r.origin, r.count, r.bytesIn, r.bytesOut, r.firstAccessAt, r.lastAccessAt, r.decision, r.reason);
      const allowedAt = r.decision === 'allow' ? r.lastAccessAt : null;
      port.run(r.service, r.port, r.count, r.bytesIn, r.bytesOut, r.firstAccessAt, r.lastAccessAt, r.decision, r.reason, allowedAt);
    },
    async callers({ service, ports, since, limit }) {
      const where: string[] = [];
      const params: SQLInputValue[] = [];
      if (service !== undefined) {
        where.push('service = ?');
        params.push(service);
      }
      if (ports !== undefined) {
        where.push(`port IN (${ports.map(() => '?').join(', ') || 'NULL'})`);
        params.push(...ports);
      }
      if (since !== undefined) {
        where.push('last_access_at >= ?');
        params.push(since);
      }
      const sql = `SELECT * FROM access_last ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY last_access_at DESC, service, port, identity, origin LIMIT ?`;
      return db.prepare(sql).all(...params, limit).map(mapRow.callers);
    },
    async port(service, name) {
      const row = onePort.get(service, name);
      return row === undefined ? undefined : mapRow.portAccess(row);
    },
    async ports(service) {
      const rows =
        service === undefined
          ? db.prepare('SELECT * FROM access_port ORDER BY service, port').all()
          : db.prepare('SELECT * FROM access_port WHERE service = ? ORDER BY port').all(service);
      return rows.map(mapRow.portAccess);
    },
    async pruneCallers(before) {
      return Number(prune.run(before).changes);
    },
  };
}

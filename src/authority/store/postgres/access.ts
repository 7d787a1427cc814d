import type { AccessRepo } from '../access.ts';
import { placeholders, type Sql } from './sql.ts';
import { parsedJson } from '../columns.ts';
import { rowMappers } from '../rows.ts';

const mapRow = rowMappers(parsedJson);

// `excluded` is the incoming record, `t` the stored one: totals add up, the window widens, and
// the decision and reason follow whichever side holds the later access (the stored one on a tie)
const latest = (column: string) => `CASE WHEN excluded.last_access_at > t.last_access_at THEN excluded.${column} ELSE t.${column} END`;
const sums = `count = t.count + excluded.count, bytes_in = t.bytes_in + excluded.bytes_in, bytes_out = t.bytes_out + excluded.bytes_out,
  first_access_at = LEAST(t.first_access_at, excluded.first_access_at),
  last_decision = ${latest('last_decision')}, last_reason = ${latest('last_reason')},
  last_access_at = GREATEST(t.last_access_at, excluded.last_access_at)`;

/**
 * Access totals in PostgreSQL: `access_last` per caller (identity '' when none) and
 * `access_port` per port, upserts that only add and widen, as in SQLite (`../sqlite/access.ts`).
 * LEAST and GREATEST skip NULLs, which is what the SQLite version spells out with coalesce.
 */
export function postgresAccess(sql: Sql): AccessRepo {
  return {
    async record(r) {
      await sql.run(
        `INSERT INTO access_last AS t
            (service, port, identity, origin, count, bytes_in, bytes_out, first_access_at, last_access_at, last_decision, last_reason)
            VALUES (${placeholders(1, 11)})
          ON CONFLICT (service, port, identity, origin) DO UPDATE SET ${sums}`,
        [r.service, r.port, r.identity ?? '', r.origin, r.count, r.bytesIn, r.bytesOut, r.firstAccessAt, r.lastAccessAt, r.decision, r.reason],
      );
      // the assignments of an upsert all read the old row, so last_allowed_at sees the old last_access_at
      await sql.run(
        `INSERT INTO access_port AS t
            (service, port, count, bytes_in, bytes_out, first_access_at, last_access_at, last_decision, last_reason, last_allowed_at)
            VALUES (${placeholders(1, 10)})
          ON CONFLICT (service, port) DO UPDATE SET ${sums},
            last_allowed_at = GREATEST(t.last_allowed_at, excluded.last_allowed_at)`,
        [r.service, r.port, r.count, r.bytesIn, r.bytesOut, r.firstAccessAt, r.lastAccessAt, r.decision, r.reason, r.decision === 'allow' ? r.lastAccessAt : null],
      );
    },
    async callers({ service, ports, since, limit }) {
      const where: string[] = [];
      const params: unknown[] = [];
      if (service !== undefined) {
        params.push(service);
        where.push(`service = $${params.length}`);
      }
      if (ports !== undefined) {
        params.push([...ports]);
        where.push(`port = ANY($${params.length}::text[])`);
      }
      if (since !== undefined) {
        params.push(since);
        where.push(`last_access_at >= $${params.length}`);
      }
      params.push(limit);
      const text = `SELECT * FROM access_last ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY last_access_at DESC, service COLLATE "C", port COLLATE "C", identity COLLATE "C", origin COLLATE "C" LIMIT $${params.length}`;
      return (await sql.all(text, params)).map(mapRow.callers);
    },
    async port(service, name) {
      const row = await sql.one('SELECT * FROM access_port WHERE service = $1 AND port = $2', [service, name]);
      return row === undefined ? undefined : mapRow.portAccess(row);
    },
    async ports(service) {
      const rows =
        service === undefined
          ? await sql.all('SELECT * FROM access_port ORDER BY service COLLATE "C", port COLLATE "C"')
          : await sql.all('SELECT * FROM access_port WHERE service = $1 ORDER BY port COLLATE "C"', [service]);
      return rows.map(mapRow.portAccess);
    },
    async pruneCallers(before) {
      return sql.run('DELETE FROM access_last WHERE last_access_at < $1', [before]);
    },
  };
}

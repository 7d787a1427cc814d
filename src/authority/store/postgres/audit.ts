import { chainedAudit, type AuditRepo } from '../audit.ts';
import { int, jsonParam, type Sql } from './sql.ts';
import { parsedJson } from '../columns.ts';
import { rowMappers } from '../rows.ts';

const mapRow = rowMappers(parsedJson);

/** The append-only, hash-chained audit log in PostgreSQL. */
export function postgresAudit(sql: Sql): AuditRepo {
  return chainedAudit({
    async insert(entry) {
      const row = await sql.one('INSERT INTO audit (at, actor, action, target, before, after) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id', [
        entry.at, entry.actor, entry.action, entry.target, jsonParam(entry.before), jsonParam(entry.after),
      ]);
      return int(row?.id);
    },
    async setHash(id, prevHash, hash) {
      await sql.run('UPDATE audit SET prev_hash = $1, hash = $2 WHERE id = $3', [prevHash, hash, id]);
    },
    async unsealed(afterId) {
      return (await sql.all('SELECT * FROM audit WHERE hash IS NULL AND id > $1 ORDER BY id', [afterId])).map(mapRow.audit);
    },
    async lastSealed() {
      const row = await sql.one('SELECT * FROM audit WHERE hash IS NOT NULL ORDER BY id DESC LIMIT 1');
      return row === undefined ? undefined : mapRow.audit(row);
    },
    async page(afterId, limit) {
      return (await sql.all('SELECT * FROM audit WHERE id > $1 ORDER BY id LIMIT $2', [afterId, limit])).map(mapRow.audit);
    },
    async tail(count) {
      return (await sql.all('SELECT * FROM (SELECT * FROM audit ORDER BY id DESC LIMIT $1) AS newest ORDER BY id', [count])).map(mapRow.audit);
    },
    async query(query) {
      const where: string[] = [];
      const params: unknown[] = [];
      const add = (clause: (n: string) => string, value: unknown) => {
        params.push(value);
        where.push(clause(`$${params.length}`));
      };
      if (query.since !== undefined) add((n) => `at >= ${n}`, query.since);
      if (query.actor !== undefined) add((n) => `actor = ${n}`, query.actor);
      if (query.action !== undefined) add((n) => `action = ${n}`, query.action);
      if (query.target !== undefined) {
        // a prefix match; LIKE would treat `_` and `%` in names as wildcards
        if (query.target.endsWith('*')) add((n) => `starts_with(target, ${n})`, query.target.slice(0, -1));
        else add((n) => `target = ${n}`, query.target);
      }
      params.push(query.limit);
      // the newest `limit` entries, returned oldest first
      const text = `SELECT * FROM (SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT $${params.length}) AS newest ORDER BY id`;
      return (await sql.all(text, params)).map(mapRow.audit);
    },
  });
}

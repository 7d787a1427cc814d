import type { DatabaseSync, SQLInputValue } from 'node:sqlite';
import { chainedAudit, type AuditRepo } from '../audit.ts';
import { json } from '../columns.ts';
import { rowMappers } from '../rows.ts';

const mapRow = rowMappers(json);

/** The append-only, hash-chained audit log in SQLite. */
export function sqliteAudit(db: DatabaseSync): AuditRepo {
  const insert = db.prepare('INSERT INTO audit (at, actor, action, target, before, after) VALUES (?, ?, ?, ?, ?, ?)');
  const setHash = db.prepare('UPDATE audit SET prev_hash = ?, hash = ? WHERE id = ?');
  const unsealed = db.prepare('SELECT * FROM audit WHERE hash IS NULL AND id > ? ORDER BY id');
  const lastSealed = db.prepare('SELECT * FROM audit WHERE hash IS NOT NULL ORDER BY id DESC LIMIT 1');
  const page = db.prepare('SELECT * FROM audit WHERE id > ? ORDER BY id LIMIT ?');
  const tail = db.prepare('SELECT * FROM (SELECT * FROM audit ORDER BY id DESC LIMIT ?) ORDER BY id');
  return chainedAudit({
    async insert(entry) {
      const result = insert.run(entry.at, entry.actor, entry.action, entry.target, toJson(entry.before), toJson(entry.after));
      return Number(result.lastInsertRowid);
    },
    async setHash(id, prevHash, hash) {
      setHash.run(prevHash, hash, id);
    },
    async unsealed(afterId) {
      return unsealed.all(afterId).map(mapRow.audit);
    },
    async lastSealed() {
      const row = lastSealed.get();
      return row === undefined ? undefined : mapRow.audit(row);
    },
    async page(afterId, limit) {
      return page.all(afterId, limit).map(mapRow.audit);
    },
    async tail(count) {
      return tail.all(count).map(mapRow.audit);
    },
    async query(query) {
      const where: string[] = [];
      const params: SQLInputValue[] = [];
      if (query.since !== undefined) {
        where.push('at >= ?');
        params.push(query.since);
      }
      if (query.actor !== undefined) {
        where.push('actor = ?');
        params.push(query.actor);
      }
      if (query.action !== undefined) {
        where.push('action = ?');
        params.push(query.action);
      }
      if (query.target !== undefined) {
        if (query.target.endsWith('*')) {
          // a prefix match; LIKE would treat `_` and `%` in names as wildcards
          where.push('substr(target, 1, ?) = ?');
          params.push(query.target.length - 1, query.target.slice(0, -1));
        } else {
          where.push('target = ?');
          params.push(query.target);
        }
      }
      params.push(query.limit);
      // the newest `limit` entries, returned oldest first
      const sql = `SELECT * FROM (SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?) ORDER BY id`;
      return db.prepare(sql).all(...params).map(mapRow.audit);
    },
  });
}

function toJson(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
}

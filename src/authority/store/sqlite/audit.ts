import type { DatabaseSync, SQLInputValue } from 'node:sqlite';
import type { AuditRepo } from '../audit.ts';
import { json } from '../columns.ts';
import { rowMappers } from '../rows.ts';

const mapRow = rowMappers(json);

/** The append-only audit log in SQLite. */
export function sqliteAudit(db: DatabaseSync): AuditRepo {
  const append = db.prepare('INSERT INTO audit (at, actor, action, target, before, after) VALUES (?, ?, ?, ?, ?, ?)');
  return {
    async append(entry) {
      const result = append.run(entry.at, entry.actor, entry.action, entry.target, toJson(entry.before), toJson(entry.after));
      return Number(result.lastInsertRowid);
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
  };
}

function toJson(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value);
}

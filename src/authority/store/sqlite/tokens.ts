import type { DatabaseSync } from 'node:sqlite';
import type { TokenRepo } from '../tokens.ts';
import { int, json } from '../columns.ts';
import { rowMappers } from '../rows.ts';

const mapRow = rowMappers(json);

/** API tokens in SQLite; only the sha256 of each secret is kept. */
export function sqliteTokens(db: DatabaseSync): TokenRepo {
  const insert = db.prepare(
    'INSERT INTO api_tokens (id, name, role, service, hash, created_at, created_by, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const get = db.prepare('SELECT * FROM api_tokens WHERE id = ?');
  const list = db.prepare('SELECT * FROM api_tokens ORDER BY created_at, id');
  const revoke = db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL');
  const admins = db.prepare("SELECT count(*) AS n FROM api_tokens WHERE role = 'admin' AND revoked_at IS NULL");
  return {
    async insert(row) {
      insert.run(row.id, row.name, row.role, row.service, row.hash, row.createdAt, row.createdBy, row.revokedAt);
    },
    async get(id) {
      const row = get.get(id);
      return row ? mapRow.tokens(row) : undefined;
    },
    async list() {
      return list.all().map(mapRow.tokens);
    },
    async revoke(id, at) {
      revoke.run(at, id);
    },
    async countActiveAdmins() {
      return int(admins.get()?.n ?? 0);
    },
  };
}

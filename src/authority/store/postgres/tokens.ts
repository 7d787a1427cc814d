import type { TokenRepo } from '../tokens.ts';
import { int, type Sql } from './sql.ts';
import { parsedJson } from '../columns.ts';
import { rowMappers } from '../rows.ts';

const mapRow = rowMappers(parsedJson);

/** API tokens in PostgreSQL; only the sha256 of each secret is kept. */
export function postgresTokens(sql: Sql): TokenRepo {
  return {
    async insert(row) {
      await sql.run(
        'INSERT INTO api_tokens (id, name, role, service, hash, created_at, created_by, revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
        [row.id, row.name, row.role, row.service, row.hash, row.createdAt, row.createdBy, row.revokedAt],
      );
    },
    async get(id) {
      const row = await sql.one('SELECT * FROM api_tokens WHERE id = $1', [id]);
      return row ? mapRow.tokens(row) : undefined;
    },
    async list() {
      return (await sql.all('SELECT * FROM api_tokens ORDER BY created_at, id COLLATE "C"')).map(mapRow.tokens);
    },
    async revoke(id, at) {
      await sql.run('UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [at, id]);
    },
    async countActiveAdmins() {
      return int((await sql.one("SELECT count(*) AS n FROM api_tokens WHERE role = 'admin' AND revoked_at IS NULL"))?.n ?? 0);
    },
  };
}

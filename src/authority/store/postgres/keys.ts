import type { KeyRepo } from '../keys.ts';
import { jsonParam, type Sql } from './sql.ts';
import { parsedJson } from '../columns.ts';
import { rowMappers } from '../rows.ts';

const mapRow = rowMappers(parsedJson);

/** Signing keys in PostgreSQL (who may read the database may sign: guard its credentials). */
export function postgresKeys(sql: Sql): KeyRepo {
  return {
    async insert(row) {
      await sql.run(
        'INSERT INTO signing_keys (kid, alg, public_jwk, private_pem, created_at, retired_at, last_exp) VALUES ($1, $2, $3, $4, $5, $6, $7)',
        [row.kid, row.alg, jsonParam(row.publicJwk), row.privatePem, row.createdAt, row.retiredAt, row.lastExp],
      );
    },
    async active() {
      const row = await sql.one('SELECT * FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC, kid COLLATE "C" LIMIT 1');
      return row ? mapRow.keys(row) : undefined;
    },
    async list() {
      return (await sql.all('SELECT * FROM signing_keys ORDER BY created_at, kid COLLATE "C"')).map(mapRow.keys);
    },
    async retire(kid, at) {
      await sql.run('UPDATE signing_keys SET retired_at = $1 WHERE kid = $2 AND retired_at IS NULL', [at, kid]);
    },
    async noteSigned(kid, exp) {
      await sql.run('UPDATE signing_keys SET last_exp = GREATEST(last_exp, $1) WHERE kid = $2', [exp, kid]);
    },
  };
}

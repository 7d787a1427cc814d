import type { DatabaseSync } from 'node:sqlite';
import type { KeyRepo } from '../keys.ts';
import { rowMappers } from '../rows.ts';
import { json } from '../columns.ts';

const mapRow = rowMappers(json);

/** Signing keys in SQLite (the database file is 0600). */
export function sqliteKeys(db: DatabaseSync): KeyRepo {
  const insert = db.prepare(
    'INSERT INTO signing_keys (kid, alg, public_jwk, private_pem, created_at, retired_at, last_exp) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const active = db.prepare('SELECT * FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC, kid LIMIT 1');
  const list = db.prepare('SELECT * FROM signing_keys ORDER BY created_at, kid');
  const retire = db.prepare('UPDATE signing_keys SET retired_at = ? WHERE kid = ? AND retired_at IS NULL');
  const noteSigned = db.prepare('UPDATE signing_keys SET last_exp = max(last_exp, ?) WHERE kid = ?');
  return {
    async insert(row) {
      insert.run(row.kid, row.alg, JSON.stringify(row.publicJwk), row.privatePem, row.createdAt, row.retiredAt, row.lastExp);
    },
    async active() {
      const row = active.get();
      return row ? mapRow.keys(row) : undefined;
    },
    async list() {
      return list.all().map(mapRow.keys);
    },
    async retire(kid, at) {
      retire.run(at, kid);
    },
    async noteSigned(kid, exp) {
      noteSigned.run(exp, kid);
    },
  };
}

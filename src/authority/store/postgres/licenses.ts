import type { LicenseFilter, LicenseRepo, LicenseRow, LicenseState } from '../licenses.ts';
import { int, jsonParam, placeholders, str, type Sql } from './sql.ts';
import { parsedJson } from '../columns.ts';
import { rowMappers } from '../rows.ts';

const mapRow = rowMappers(parsedJson);

const columns = `lid, service, port_name, port_number, protocol, allow, env, renew, ttl_ms, state, created_at, max_until,
  created_by, jti, kid, token, iat, exp, renewals, revoked_at, expired_at, last_access_at, create_index, modify_index`;

/** Licenses in PostgreSQL. */
export function postgresLicenses(sql: Sql): LicenseRepo {
  return {
    async insert(row) {
      await sql.run(`INSERT INTO licenses (${columns}) VALUES (${placeholders(1, 24)})`, values(row));
    },
    async update(row) {
      await sql.run(
        `UPDATE licenses SET allow = $1, env = $2, renew = $3, ttl_ms = $4, state = $5, jti = $6, kid = $7, token = $8,
          iat = $9, exp = $10, renewals = $11, revoked_at = $12, expired_at = $13, last_access_at = $14, modify_index = $15 WHERE lid = $16`,
        [
          jsonParam(row.allow), row.env, row.renew, row.ttlMs, row.state, row.jti, row.kid, row.token,
          row.iat, row.exp, row.renewals, row.revokedAt, row.expiredAt, row.lastAccessAt, row.modifyIndex, row.lid,
        ],
      );
    },
    async get(lid) {
      const found = await sql.one(`SELECT ${columns} FROM licenses WHERE lid = $1`, [lid]);
      return found ? mapRow.licenses(found) : undefined;
    },
    async list(filter: LicenseFilter = {}) {
      const where: string[] = [];
      const params: unknown[] = [];
      if (filter.service !== undefined) {
        params.push(filter.service);
        where.push(`service = $${params.length}`);
      }
      if (filter.state !== undefined) {
        params.push(filter.state);
        where.push(`state = $${params.length}`);
      }
      const text = `SELECT ${columns} FROM licenses ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY service COLLATE "C", port_name COLLATE "C", create_index`;
      return (await sql.all(text, params)).map(mapRow.licenses);
    },
    async activeExpiringBy(at) {
      return (await sql.all(`SELECT ${columns} FROM licenses WHERE state = 'active' AND exp <= $1 ORDER BY exp, lid COLLATE "C"`, [at])).map(mapRow.licenses);
    },
    async revokedSince({ service, afterIndex, now }) {
      const text = `SELECT ${columns} FROM licenses WHERE state = 'revoked' AND modify_index > $1 AND exp > $2
        ${service === undefined ? '' : 'AND service = $3'} ORDER BY modify_index`;
      return (await sql.all(text, service === undefined ? [afterIndex, now] : [afterIndex, now, service])).map(mapRow.licenses);
    },
    async touchAccess(service, port, at) {
      const byName = port.name !== undefined;
      return sql.run(
        `UPDATE licenses SET last_access_at = $1 WHERE service = $2 AND ${byName ? 'port_name = $3' : 'port_number = $3'}
          AND state = 'active' AND (last_access_at IS NULL OR last_access_at < $1)`,
        [at, service, byName ? (port.name ?? '') : (port.number ?? 0)],
      );
    },
    async countByState() {
      const out: Record<LicenseState, number> = { active: 0, revoked: 0, expired: 0 };
      for (const row of await sql.all('SELECT state, count(*) AS n FROM licenses GROUP BY state')) out[str(row.state) as LicenseState] = int(row.n);
      return out;
    },
  };
}

function values(row: LicenseRow): unknown[] {
  return [
    row.lid, row.service, row.portName, row.portNumber, row.protocol, jsonParam(row.allow), row.env, row.renew,
    row.ttlMs, row.state, row.createdAt, row.maxUntil, row.createdBy, row.jti, row.kid, row.token, row.iat, row.exp,
    row.renewals, row.revokedAt, row.expiredAt, row.lastAccessAt, row.createIndex, row.modifyIndex,
  ];
}

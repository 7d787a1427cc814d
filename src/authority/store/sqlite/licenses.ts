import type { DatabaseSync, SQLInputValue } from 'node:sqlite';
import type { LicenseFilter, LicenseRepo, LicenseRow, LicenseState } from '../licenses.ts';
import { int, json, str } from '../columns.ts';
import { rowMappers } from '../rows.ts';

const mapRow = rowMappers(json);

const columns = `lid, service, port_name, port_number, protocol, allow, env, renew, ttl_ms, state, created_at, max_until,
  created_by, jti, kid, token, iat, exp, renewals, revoked_at, expired_at, last_access_at, create_index, modify_index`;

/** Licenses in SQLite. */
export function sqliteLicenses(db: DatabaseSync): LicenseRepo {
  const insert = db.prepare(`INSERT INTO licenses (${columns}) VALUES (${columns.split(',').map(() => '?').join(', ')})`);
  const update = db.prepare(`UPDATE licenses SET allow = ?, env = ?, renew = ?, ttl_ms = ?, state = ?, jti = ?, kid = ?, token = ?,
    iat = ?, exp = ?, renewals = ?, revoked_at = ?, expired_at = ?, last_access_at = ?, modify_index = ? WHERE lid = ?`);
  const get = db.prepare(`SELECT ${columns} FROM licenses WHERE lid = ?`);
  const expiring = db.prepare(`SELECT ${columns} FROM licenses WHERE state = 'active' AND exp <= ? ORDER BY exp, lid`);
  const counts = db.prepare(`SELECT state, count(*) AS n FROM licenses GROUP BY state`);

  return {
    async insert(row) {
      insert.run(...values(row));
    },
    async update(row) {
      update.run(
        JSON.stringify(row.allow), row.env, row.renew, row.ttlMs, row.state, row.jti, row.kid, row.token,
        row.iat, row.exp, row.renewals, row.revokedAt, row.expiredAt, row.lastAccessAt, row.modifyIndex, row.lid,
      );
    },
    async get(lid) {
      const found = get.get(lid);
      return found ? mapRow.licenses(found) : undefined;
    },
    async list(filter: LicenseFilter = {}) {
      const where: string[] = [];
      const params: SQLInputValue[] = [];
      if (filter.service !== undefined) {
        where.push('service = ?');
        params.push(filter.service);
      }
      if (filter.state !== undefined) {
        where.push('state = ?');
        params.push(filter.state);
      }
      const sql = `SELECT ${columns} FROM licenses ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY service, port_name, create_index`;
      return db.prepare(sql).all(...params).map(mapRow.licenses);
    },
    async activeExpiringBy(at) {
      return expiring.all(at).map(mapRow.licenses);
    },
    async revokedSince({ service, afterIndex, now }) {
      const sql = `SELECT ${columns} FROM licenses WHERE state = 'revoked' AND modify_index > ? AND exp > ?
        ${service === undefined ? '' : 'AND service = ?'} ORDER BY modify_index`;
      const params: SQLInputValue[] = service === undefined ? [afterIndex, now] : [afterIndex, now, service];
      return db.prepare(sql).all(...params).map(mapRow.licenses);
    },
    async touchAccess(service, port, at) {
      const byName = port.name !== undefined;
      const result = db
        .prepare(`UPDATE licenses SET last_access_at = ? WHERE service = ? AND ${byName ? 'port_name' : 'port_number'} = ?
          AND state = 'active' AND (last_access_at IS NULL OR last_access_at < ?)`)
        .run(at, service, byName ? (port.name ?? '') : (port.number ?? 0), at);
      return Number(result.changes);
    },
    async countByState() {
      const out: Record<LicenseState, number> = { active: 0, revoked: 0, expired: 0 };
      for (const row of counts.all()) out[str(row.state) as LicenseState] = int(row.n);
      return out;
    },
  };
}

function values(row: LicenseRow): SQLInputValue[] {
  return [
    row.lid, row.service, row.portName, row.portNumber, row.protocol, JSON.stringify(row.allow), row.env, row.renew,
    row.ttlMs, row.state, row.createdAt, row.maxUntil, row.createdBy, row.jti, row.kid, row.token, row.iat, row.exp,
    row.renewals, row.revokedAt, row.expiredAt, row.lastAccessAt, row.createIndex, row.modifyIndex,
  ];
}

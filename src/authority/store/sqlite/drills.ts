import type { DatabaseSync, SQLInputValue } from 'node:sqlite';
import type { DrillRepo } from '../drills.ts';
import { json } from '../columns.ts';
import { rowMappers } from '../rows.ts';

const mapRow = rowMappers(json);

const columns = 'id, kind, service, port, starts_at, ends_at, actor, state, changes, baseline, observed, restored_at, restored_by';

/**
 * Drills in SQLite, and the one read of the access tables a drill's report needs (the
 * telemetry repo keeps totals per caller and per port; a drill compares them with the totals
 * at its start and reads each caller's latest decision).
 */
export function sqliteDrills(db: DatabaseSync): DrillRepo {
  const insert = db.prepare(`INSERT INTO drills (${columns}) VALUES (${columns.split(',').map(() => '?').join(', ')})`);
  const update = db.prepare('UPDATE drills SET state = ?, changes = ?, observed = ?, restored_at = ?, restored_by = ? WHERE id = ?');
  const get = db.prepare(`SELECT ${columns} FROM drills WHERE id = ?`);
  const due = db.prepare(`SELECT ${columns} FROM drills WHERE state = 'active' AND ends_at <= ? ORDER BY ends_at, id`);
  const outage = db.prepare(`SELECT ${columns} FROM drills WHERE state = 'active' AND kind = 'outage' AND service = ?
    AND starts_at <= ? AND ends_at > ? ORDER BY ends_at DESC LIMIT 1`);

  return {
    async insert(row) {
      insert.run(
        row.id, row.kind, row.service, row.port, row.startsAt, row.endsAt, row.actor, row.state,
        JSON.stringify(row.changes), JSON.stringify(row.baseline), row.observed === null ? null : JSON.stringify(row.observed),
        row.restoredAt, row.restoredBy,
      );
    },
    async update(row) {
      update.run(row.state, JSON.stringify(row.changes), row.observed === null ? null : JSON.stringify(row.observed), row.restoredAt, row.restoredBy, row.id);
    },
    async get(id) {
      const found = get.get(id);
      return found ? mapRow.drills(found) : undefined;
    },
    async list({ service, state, limit }) {
      const where: string[] = [];
      const params: SQLInputValue[] = [];
      if (service !== undefined) {
        where.push('service = ?');
        params.push(service);
      }
      if (state !== undefined) {
        where.push('state = ?');
        params.push(state);
      }
      const sql = `SELECT ${columns} FROM drills ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY starts_at DESC, id DESC LIMIT ?`;
      return db.prepare(sql).all(...params, limit).map(mapRow.drills);
    },
    async dueBy(at) {
      return due.all(at).map(mapRow.drills);
    },
    async outageAt(service, at) {
      const found = outage.get(service, at, at);
      return found ? mapRow.drills(found) : undefined;
    },
    async access(service, ports, since, limit) {
      const portFilter = ports === undefined ? '' : `AND port IN (${ports.map(() => '?').join(', ') || 'NULL'})`;
      const portParams: SQLInputValue[] = ports === undefined ? [] : [...ports];
      const portRows = db
        .prepare(`SELECT port, count, last_access_at, last_decision, last_reason, last_allowed_at FROM access_port
          WHERE service = ? ${portFilter} ORDER BY port`)
        .all(service, ...portParams)
        .map(
          mapRow.drillPortAccess,
        );
      const callerRows = db
        .prepare(`SELECT port, identity, origin, count, last_access_at, last_decision, last_reason FROM access_last
          WHERE service = ? ${portFilter} AND last_access_at >= ? ORDER BY last_access_at DESC, port, identity, origin LIMIT ?`)
        .all(service, ...portParams, since, limit)
        .map(
          mapRow.drillCallerAccess,
        );
      return { ports: portRows, callers: callerRows };
    },
  };
}

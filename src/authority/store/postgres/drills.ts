import type { DrillRepo } from '../drills.ts';
import { jsonParam, placeholders, type Sql } from './sql.ts';
import { parsedJson } from '../columns.ts';
import { rowMappers } from '../rows.ts';

const mapRow = rowMappers(parsedJson);

const columns = 'id, kind, service, port, starts_at, ends_at, actor, state, changes, baseline, observed, restored_at, restored_by';

/** Drills in PostgreSQL, and the one read of the access tables a drill's report needs (as `../sqlite/drills.ts`). */
export function postgresDrills(sql: Sql): DrillRepo {
  return {
    async insert(row) {
      await sql.run(`INSERT INTO drills (${columns}) VALUES (${placeholders(1, 13)})`, [
        row.id, row.kind, row.service, row.port, row.startsAt, row.endsAt, row.actor, row.state,
        jsonParam(row.changes), jsonParam(row.baseline), jsonParam(row.observed), row.restoredAt, row.restoredBy,
      ]);
    },
    async update(row) {
      await sql.run('UPDATE drills SET state = $1, changes = $2, observed = $3, restored_at = $4, restored_by = $5 WHERE id = $6', [
        row.state, jsonParam(row.changes), jsonParam(row.observed), row.restoredAt, row.restoredBy, row.id,
      ]);
    },
    async get(id) {
      const found = await sql.one(`SELECT ${columns} FROM drills WHERE id = $1`, [id]);
      return found ? mapRow.drills(found) : undefined;
    },
    async list({ service, state, limit }) {
      const where: string[] = [];
      const params: unknown[] = [];
      if (service !== undefined) {
        params.push(service);
        where.push(`service = $${params.length}`);
      }
      if (state !== undefined) {
        params.push(state);
        where.push(`state = $${params.length}`);
      }
      params.push(limit);
      const text = `SELECT ${columns} FROM drills ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY starts_at DESC, id COLLATE "C" DESC LIMIT $${params.length}`;
      return (await sql.all(text, params)).map(mapRow.drills);
    },
    async dueBy(at) {
      return (await sql.all(`SELECT ${columns} FROM drills WHERE state = 'active' AND ends_at <= $1 ORDER BY ends_at, id COLLATE "C"`, [at])).map(mapRow.drills);
    },
    async outageAt(service, at) {
      const found = await sql.one(
        `SELECT ${columns} FROM drills WHERE state = 'active' AND kind = 'outage' AND service = $1
          AND starts_at <= $2 AND ends_at > $2 ORDER BY ends_at DESC LIMIT 1`,
        [service, at],
      );
      return found ? mapRow.drills(found) : undefined;
    },
    async access(service, ports, since, limit) {
      const portFilter = ports === undefined ? '' : 'AND port = ANY($2::text[])';
      const params: unknown[] = ports === undefined ? [service] : [service, [...ports]];
      const portRows = (
        await sql.all(
          `SELECT port, count, last_access_at, last_decision, last_reason, last_allowed_at FROM access_port
            WHERE service = $1 ${portFilter} ORDER BY port COLLATE "C"`,
          params,
        )
      ).map(
        mapRow.drillPortAccess,
      );
      const n = params.length;
      const callerRows = (
        await sql.all(
          `SELECT port, identity, origin, count, last_access_at, last_decision, last_reason FROM access_last
            WHERE service = $1 ${portFilter} AND last_access_at >= $${n + 1}
            ORDER BY last_access_at DESC, port COLLATE "C", identity COLLATE "C", origin COLLATE "C" LIMIT $${n + 2}`,
          [...params, since, limit],
        )
      ).map(
        mapRow.drillCallerAccess,
      );
      return { ports: portRows, callers: callerRows };
    },
  };
}

import { PortwardenError } from '../../../shared/errors.ts';
import { heldNumbers } from '../ports.ts';
import type { PortFilter, PortRepo, PortRow } from '../ports.ts';
import { changeChannel } from './change-index.ts';
import { int, jsonParam, placeholders, str, type Sql } from './sql.ts';
import { parsedJson } from '../columns.ts';
import { rowMappers } from '../rows.ts';

const mapRow = rowMappers(parsedJson);

const columns = `service, name, env, protocol, kind, number, owner, dependencies, state, created_at, created_by,
  approved_at, approved_by, rejected_at, rejected_by, released_at, released_by, reason, transition_to,
  transition_ends_at, previous_numbers, pending_license`;

/**
 * The register in PostgreSQL, as in SQLite (`../sqlite/ports.ts`): `ports` holds the records,
 * `port_numbers` every number a live port holds, its primary key the last word on double
 * assignment. A failed statement would abort the whole PostgreSQL transaction, so the inserts
 * that may collide say `ON CONFLICT DO NOTHING` and a missing row is the refusal. Every write
 * queues a register notification on `changeChannel` (`{ o, r: 1 }`, delivered at commit, once per
 * transaction), so other authorities' in-memory views of the register refresh.
 */
export function postgresPorts(sql: Sql, origin: string): PortRepo {
  const announce = () => sql.run('SELECT pg_notify($1, $2)', [changeChannel, JSON.stringify({ o: origin, r: 1 })]);
  const holdNumbers = async (row: PortRow) => {
    await sql.run('DELETE FROM port_numbers WHERE port_id = $1', [Number(row.id)]);
    for (const number of heldNumbers(row)) {
      const held = await sql.run('INSERT INTO port_numbers (env, protocol, number, port_id) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [
        row.env, row.protocol, number, Number(row.id),
      ]);
      if (held === 1) continue;
      const by = await sql.one(
        'SELECT p.service, p.name FROM port_numbers n JOIN ports p ON p.id = n.port_id WHERE n.env = $1 AND n.protocol = $2 AND n.number = $3',
        [row.env, row.protocol, number],
      );
      const who = by ? `${str(by.service)}/${str(by.name)}` : 'another port';
      throw new PortwardenError('port_taken', `refused by rule taken: ${number}/${row.protocol} is taken by ${who} in ${row.env}`);
    }
  };

  return {
    async insert(input) {
      const inserted = await sql.one(
        `INSERT INTO ports (${columns}) VALUES (${placeholders(1, 22)})
          ON CONFLICT (service, name, env, protocol) WHERE state IN ('requested', 'active', 'transitioning') DO NOTHING RETURNING id`,
        values(input),
      );
      if (!inserted) throw new PortwardenError('conflict', `${input.service}/${input.name} (${input.protocol}) in ${input.env} is already registered`);
      const row: PortRow = { ...input, id: String(int(inserted.id)) };
      await holdNumbers(row);
      await announce();
      return row;
    },
    async update(row) {
      await sql.run(
        `UPDATE ports SET number = $1, owner = $2, dependencies = $3, state = $4, approved_at = $5, approved_by = $6,
          rejected_at = $7, rejected_by = $8, released_at = $9, released_by = $10, reason = $11, transition_to = $12, transition_ends_at = $13,
          previous_numbers = $14, pending_license = $15 WHERE id = $16`,
        [
          row.number, row.owner, jsonParam(row.dependencies), row.state, row.approvedAt, row.approvedBy,
          row.rejectedAt, row.rejectedBy, row.releasedAt, row.releasedBy, row.reason, row.transition?.to ?? null,
          row.transition?.windowEndsAt ?? null, jsonParam(row.previousNumbers), jsonParam(row.pendingLicense), Number(row.id),
        ],
      );
      await holdNumbers(row);
      await announce();
    },
    async get(id) {
      if (!/^\d{1,15}$/.test(id)) return undefined;
      const found = await sql.one(`SELECT id, ${columns} FROM ports WHERE id = $1`, [Number(id)]);
      return found ? mapRow.ports(found) : undefined;
    },
    async list(filter: PortFilter = {}) {
      const where: string[] = [];
      const params: unknown[] = [];
      for (const key of ['service', 'name', 'env', 'protocol'] as const) {
        const value = filter[key];
        if (value === undefined) continue;
        params.push(value);
        where.push(`${key} = $${params.length}`);
      }
      if (filter.states !== undefined) {
        params.push([...filter.states]);
        where.push(`state = ANY($${params.length}::text[])`);
      }
      const text = `SELECT id, ${columns} FROM ports ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY service COLLATE "C", name COLLATE "C", env COLLATE "C", protocol COLLATE "C", id`;
      return (await sql.all(text, params)).map(mapRow.ports);
    },
    async transitionsEndingBy(at) {
      return (await sql.all(`SELECT id, ${columns} FROM ports WHERE state = 'transitioning' AND transition_ends_at <= $1 ORDER BY transition_ends_at, id`, [at])).map(mapRow.ports);
    },
  };
}

function values(row: Omit<PortRow, 'id'>): unknown[] {
  return [
    row.service, row.name, row.env, row.protocol, row.kind, row.number, row.owner, jsonParam(row.dependencies), row.state,
    row.createdAt, row.createdBy, row.approvedAt, row.approvedBy, row.rejectedAt, row.rejectedBy, row.releasedAt, row.releasedBy,
    row.reason, row.transition?.to ?? null, row.transition?.windowEndsAt ?? null, jsonParam(row.previousNumbers), jsonParam(row.pendingLicense),
  ];
}

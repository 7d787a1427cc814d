import type { DatabaseSync, SQLInputValue } from 'node:sqlite';
import { PortwardenError } from '../../../shared/errors.ts';
import { heldNumbers, type PortFilter, type PortRepo, type PortRow } from '../ports.ts';
import { int, json, str } from '../columns.ts';
import { rowMappers } from '../rows.ts';

const mapRow = rowMappers(json);

const columns = `service, name, env, protocol, kind, number, owner, dependencies, state, created_at, created_by,
  approved_at, approved_by, rejected_at, rejected_by, released_at, released_by, reason, transition_to,
  transition_ends_at, previous_numbers, pending_license`;

/**
 * The register in SQLite: `ports` holds the records, `port_numbers` every number a live port
 * holds. Both are written together, so the primary key of `port_numbers` (env, protocol,
 * number) is the last word on double assignment, even if a caller skipped the constraints.
 */
export function sqlitePorts(db: DatabaseSync): PortRepo {
  const insert = db.prepare(`INSERT INTO ports (${columns}) VALUES (${columns.split(',').map(() => '?').join(', ')}) RETURNING id`);
  const update = db.prepare(`UPDATE ports SET number = ?, owner = ?, dependencies = ?, state = ?, approved_at = ?, approved_by = ?,
    rejected_at = ?, rejected_by = ?, released_at = ?, released_by = ?, reason = ?, transition_to = ?, transition_ends_at = ?,
    previous_numbers = ?, pending_license = ? WHERE id = ?`);
  const get = db.prepare(`SELECT id, ${columns} FROM ports WHERE id = ?`);
  const ending = db.prepare(`SELECT id, ${columns} FROM ports WHERE state = 'transitioning' AND transition_ends_at <= ? ORDER BY transition_ends_at, id`);
  const dropNumbers = db.prepare('DELETE FROM port_numbers WHERE port_id = ?');
  const holdNumber = db.prepare('INSERT INTO port_numbers (env, protocol, number, port_id) VALUES (?, ?, ?, ?)');
  const holder = db.prepare('SELECT p.service, p.name FROM port_numbers n JOIN ports p ON p.id = n.port_id WHERE n.env = ? AND n.protocol = ? AND n.number = ?');

  const holdNumbers = (row: PortRow) => {
    dropNumbers.run(Number(row.id));
    for (const number of heldNumbers(row)) {
      try {
        holdNumber.run(row.env, row.protocol, number, Number(row.id));
      } catch (cause) {
        if (!isConstraint(cause)) throw cause;
        const by = holder.get(row.env, row.protocol, number);
        const who = by ? `${str(by.service)}/${str(by.name)}` : 'another port';
        throw new PortwardenError('port_taken', `refused by rule taken: ${number}/${row.protocol} is taken by ${who} in ${row.env}`, { cause });
      }
    }
  };

  return {
    async insert(input) {
      let id: number;
      try {
        id = int(insert.get(...values(input))?.id);
      } catch (cause) {
        if (!isConstraint(cause)) throw cause;
        throw new PortwardenError('conflict', `${input.service}/${input.name} (${input.protocol}) in ${input.env} is already registered`, { cause });
      }
      const row: PortRow = { ...input, id: String(id) };
      holdNumbers(row);
      return row;
    },
    async update(row) {
      update.run(
        row.number, row.owner, JSON.stringify(row.dependencies), row.state, row.approvedAt, row.approvedBy,
        row.rejectedAt, row.rejectedBy, row.releasedAt, row.releasedBy, row.reason, row.transition?.to ?? null,
        row.transition?.windowEndsAt ?? null, JSON.stringify(row.previousNumbers), pendingJson(row), Number(row.id),
      );
      holdNumbers(row);
    },
    async get(id) {
      if (!/^\d{1,15}$/.test(id)) return undefined;
      const found = get.get(Number(id));
      return found ? mapRow.ports(found) : undefined;
    },
    async list(filter: PortFilter = {}) {
      const where: string[] = [];
      const params: SQLInputValue[] = [];
      for (const key of ['service', 'name', 'env', 'protocol'] as const) {
        const value = filter[key];
        if (value === undefined) continue;
        where.push(`${key} = ?`);
        params.push(value);
      }
      if (filter.states !== undefined) {
        where.push(`state IN (${filter.states.map(() => '?').join(', ') || 'NULL'})`);
        params.push(...filter.states);
      }
      const sql = `SELECT id, ${columns} FROM ports ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY service, name, env, protocol, id`;
      return db.prepare(sql).all(...params).map(mapRow.ports);
    },
    async transitionsEndingBy(at) {
      return ending.all(at).map(mapRow.ports);
    },
  };
}

function isConstraint(err: unknown): boolean {
  const errcode = (err as { errcode?: unknown }).errcode;
  // SQLITE_CONSTRAINT is 19; the extended codes (UNIQUE 2067, PRIMARYKEY 1555) keep it in the low byte
  return typeof errcode === 'number' && (errcode & 0xff) === 19;
}

function pendingJson(row: Pick<PortRow, 'pendingLicense'>): string | null {
  return row.pendingLicense === null ? null : JSON.stringify(row.pendingLicense);
}

function values(row: Omit<PortRow, 'id'>): SQLInputValue[] {
  return [
    row.service, row.name, row.env, row.protocol, row.kind, row.number, row.owner, JSON.stringify(row.dependencies), row.state,
    row.createdAt, row.createdBy, row.approvedAt, row.approvedBy, row.rejectedAt, row.rejectedBy, row.releasedAt, row.releasedBy,
    row.reason, row.transition?.to ?? null, row.transition?.windowEndsAt ?? null, JSON.stringify(row.previousNumbers), pendingJson(row),
  ];
}

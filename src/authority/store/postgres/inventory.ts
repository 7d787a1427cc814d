import type { InventoryRepo } from '../inventory.ts';
import { jsonParam, type Sql } from './sql.ts';
import { parsedJson } from '../columns.ts';
import { rowMappers } from '../rows.ts';

const mapRow = rowMappers(parsedJson);

/** The latest listener snapshot per service, its listeners and the sidecar's own ports as JSONB. */
export function postgresInventory(sql: Sql): InventoryRepo {
  return {
    async put(row) {
      await sql.run(
        `INSERT INTO inventory_reports (service, reported_at, sent_at, listeners, sidecar_ports) VALUES ($1, $2, $3, $4, $5)
          ON CONFLICT (service) DO UPDATE SET reported_at = excluded.reported_at, sent_at = excluded.sent_at,
            listeners = excluded.listeners, sidecar_ports = excluded.sidecar_ports`,
        [row.service, row.reportedAt, row.sentAt, jsonParam(row.listeners), jsonParam(row.sidecarPorts)],
      );
    },
    async get(service) {
      const row = await sql.one('SELECT * FROM inventory_reports WHERE service = $1', [service]);
      return row === undefined ? undefined : mapRow.inventory(row);
    },
    async list() {
      return (await sql.all('SELECT * FROM inventory_reports ORDER BY service COLLATE "C"')).map(mapRow.inventory);
    },
  };
}

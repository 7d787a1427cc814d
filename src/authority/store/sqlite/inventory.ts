import type { DatabaseSync } from 'node:sqlite';
import type { InventoryRepo } from '../inventory.ts';
import { json } from '../columns.ts';
import { rowMappers } from '../rows.ts';

const mapRow = rowMappers(json);

/** The latest listener snapshot per service, its listeners and the sidecar's own ports as JSON. */
export function sqliteInventory(db: DatabaseSync): InventoryRepo {
  const put = db.prepare(`INSERT INTO inventory_reports (service, reported_at, sent_at, listeners, sidecar_ports) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (service) DO UPDATE SET reported_at = excluded.reported_at, sent_at = excluded.sent_at,
      listeners = excluded.listeners, sidecar_ports = excluded.sidecar_ports`);
  const get = db.prepare('SELECT * FROM inventory_reports WHERE service = ?');
  const list = db.prepare('SELECT * FROM inventory_reports ORDER BY service');
  return {
    async put(row) {
      put.run(row.service, row.reportedAt, row.sentAt, JSON.stringify(row.listeners), JSON.stringify(row.sidecarPorts));
    },
    async get(service) {
      const row = get.get(service);
      return row === undefined ? undefined : mapRow.inventory(row);
    },
    async list() {
      return list.all().map(mapRow.inventory);
    },
  };
}

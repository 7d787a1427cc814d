import type { DatabaseSync } from 'node:sqlite';
import type { IndexRepo } from '../change-index.ts';
import { int } from '../columns.ts';

/** The change index in SQLite: one counter row in `meta`, and the last change per service. */
export function sqliteIndex(db: DatabaseSync): IndexRepo {
  const current = db.prepare("SELECT value FROM meta WHERE key = 'change_index'");
  const next = db.prepare("UPDATE meta SET value = value + 1 WHERE key = 'change_index' RETURNING value");
  const ofService = db.prepare('SELECT change_index FROM service_index WHERE service = ?');
  const setService = db.prepare(
    'INSERT INTO service_index (service, change_index) VALUES (?, ?) ON CONFLICT (service) DO UPDATE SET change_index = excluded.change_index',
  );
  return {
    async current() {
      return int(current.get()?.value ?? 0);
    },
    async ofService(service) {
      return int(ofService.get(service)?.change_index ?? 0);
    },
    async bump(service) {
      const row = next.get();
      if (!row) throw new Error('the change_index row is missing');
      const index = int(row.value);
      setService.run(service, index);
      return index;
    },
  };
}

import type { IndexRepo } from '../change-index.ts';
import { int, type Sql } from './sql.ts';

/** The channel every store sharing the database LISTENs on; a payload is `{ o, s, i }` JSON. */
export const changeChannel = 'portwarden_changes';

/**
 * The change index in PostgreSQL: one counter row in `meta`, and the last change per service.
 * `bump` also queues a notification on `changeChannel`, which PostgreSQL delivers when (and
 * only if) the transaction commits, so other authorities' blocking queries wake then. `origin`
 * names this store, so it can skip its own announcements.
 */
export function postgresIndex(sql: Sql, origin: string): IndexRepo {
  return {
    async current() {
      return int((await sql.one("SELECT value FROM meta WHERE key = 'change_index'"))?.value ?? 0);
    },
    async ofService(service) {
      return int((await sql.one('SELECT change_index FROM service_index WHERE service = $1', [service]))?.change_index ?? 0);
    },
    async bump(service) {
      const row = await sql.one("UPDATE meta SET value = value + 1 WHERE key = 'change_index' RETURNING value");
      if (!row) throw new Error('the change_index row is missing');
      const index = int(row.value);
      await sql.run(
        'INSERT INTO service_index (service, change_index) VALUES ($1, $2) ON CONFLICT (service) DO UPDATE SET change_index = excluded.change_index',
        [service, index],
      );
      await sql.run('SELECT pg_notify($1, $2)', [changeChannel, JSON.stringify({ o: origin, s: service, i: index })]);
      return index;
    },
  };
}

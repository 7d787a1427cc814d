import type { DatabaseSync } from 'node:sqlite';
import type { AccessRecord, TelemetryRepo } from '../store.ts';
import { int, str } from './columns.ts';

/** Telemetry batch ids (for idempotency) and the last access per (service, port, identity, origin). */
export function sqliteTelemetry(db: DatabaseSync): TelemetryRepo {
  const claim = db.prepare('INSERT INTO telemetry_batches (service, batch_id, received_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING');
  const record = db.prepare(`INSERT INTO access_last (service, port, identity, origin, last_access_at, count) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (service, port, identity, origin) DO UPDATE SET
      last_access_at = max(last_access_at, excluded.last_access_at), count = count + excluded.count`);
  const prune = db.prepare('DELETE FROM telemetry_batches WHERE received_at < ?');
  return {
    async claimBatch(service, batchId, at) {
      return Number(claim.run(service, batchId, at).changes) === 1;
    },
    async recordAccess(r) {
      record.run(r.service, r.port, r.identity, r.origin, r.lastAccessAt, r.count);
    },
    async accesses(service) {
      const rows =
        service === undefined
          ? db.prepare('SELECT * FROM access_last ORDER BY service, port, identity, origin').all()
          : db.prepare('SELECT * FROM access_last WHERE service = ? ORDER BY port, identity, origin').all(service);
      return rows.map(
        (row): AccessRecord => ({
          service: str(row.service),
          port: str(row.port),
          identity: str(row.identity),
          origin: str(row.origin),
          lastAccessAt: int(row.last_access_at),
          count: int(row.count),
        }),
      );
    },
    async pruneBatches(before) {
      return Number(prune.run(before).changes);
    },
  };
}

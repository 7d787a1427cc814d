import type { DatabaseSync } from 'node:sqlite';
import type { TelemetryRepo } from '../telemetry.ts';

/** Telemetry batch ids, remembered so a retried batch is applied once (its records: `access.ts`). */
export function sqliteTelemetry(db: DatabaseSync): TelemetryRepo {
  const claim = db.prepare('INSERT INTO telemetry_batches (service, batch_id, received_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING');
  const prune = db.prepare('DELETE FROM telemetry_batches WHERE received_at < ?');
  return {
    async claimBatch(service, batchId, at) {
      return Number(claim.run(service, batchId, at).changes) === 1;
    },
    async pruneBatches(before) {
      return Number(prune.run(before).changes);
    },
  };
}

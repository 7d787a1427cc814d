import type { TelemetryRepo } from '../telemetry.ts';
import type { Sql } from './sql.ts';

/** Telemetry batch ids, remembered so a retried batch is applied once (its records: `access.ts`). */
export function postgresTelemetry(sql: Sql): TelemetryRepo {
  return {
    async claimBatch(service, batchId, at) {
      const n = await sql.run('INSERT INTO telemetry_batches (service, batch_id, received_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [service, batchId, at]);
      return n === 1;
    },
    async pruneBatches(before) {
      return sql.run('DELETE FROM telemetry_batches WHERE received_at < $1', [before]);
    },
  };
}

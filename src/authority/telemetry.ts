import { z } from 'zod';
import type { Clock } from '../shared/clock.ts';
import { PortwardenError } from '../shared/errors.ts';
import { name } from '../shared/config/schema-parts.ts';
import type { Principal } from './tokens.ts';
import type { Store } from './store/store.ts';

const timestamp = z.union([
  z.iso.datetime({ offset: true }).transform((text) => Date.parse(text)),
  z.number().int().nonnegative(), // milliseconds since the epoch
]);

/** One access record; fields beyond these (bytes, duration, ...) are accepted and ignored for now. */
const recordSchema = z.looseObject({
  /** The port's name in the sidecar configuration, or its number. */
  port: z.union([name, z.number().int().min(1).max(65_535)]),
  identity: z.string().max(2048).nullish(),
  origin: z.string().max(256).nullish(),
  last_access: timestamp,
  count: z.number().int().nonnegative().default(1),
  /** Denied connections are not an access: they do not keep a license in use. */
  decision: z.enum(['allow', 'deny']).optional(),
});

/** `POST /v1/telemetry`; further fields (`sent_at`, ...) are accepted and ignored. */
export const telemetryBatchSchema = z.looseObject({
  batch_id: z.string().min(1).max(200),
  /** Only needed when an admin token posts; a sidecar token implies its service. */
  service: name.optional(),
  records: z.array(recordSchema).max(10_000),
});

export type TelemetryBatch = z.output<typeof telemetryBatchSchema>;

export interface TelemetryResult {
  batch_id: string;
  service: string;
  /** False when this batch id was already applied (a retry); nothing was counted twice. */
  applied: boolean;
  records: number;
}

/**
 * Access telemetry from sidecars, applied once per `batch_id` (sidecars retry a batch until
 * it is acknowledged). It keeps the last access per (service, port, identity, origin) for the
 * register's cleanup, and the last access of each license, which keeps a `renew: auto`
 * license renewed.
 */
export async function ingestTelemetry(store: Store, clock: Clock, principal: Principal, batch: TelemetryBatch): Promise<TelemetryResult> {
  const service = principal.role === 'sidecar' ? principal.service : batch.service;
  if (!service) throw new PortwardenError('bad_request', 'service: required when an admin token posts telemetry');
  if (batch.service !== undefined && batch.service !== service) {
    throw new PortwardenError('forbidden', `this token reports for service ${service}, not ${batch.service}`);
  }
  const admitted = batch.records.filter((record) => record.decision !== 'deny');
  const applied = await store.transaction(async (tx) => {
    if (!(await tx.telemetry.claimBatch(service, batch.batch_id, clock.now()))) return false;
    for (const record of admitted) {
      const port = typeof record.port === 'number' ? { number: record.port } : { name: record.port };
      await tx.telemetry.recordAccess({
        service,
        port: String(record.port),
        identity: record.identity ?? '',
        origin: record.origin ?? '',
        lastAccessAt: record.last_access,
        count: record.count,
      });
      await tx.licenses.touchAccess(service, port, record.last_access);
    }
    return true;
  });
  return { batch_id: batch.batch_id, service, applied, records: applied ? admitted.length : 0 };
}

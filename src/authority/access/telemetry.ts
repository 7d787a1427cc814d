import { isIP } from 'node:net';
import { z } from 'zod';
import type { Clock } from '../../shared/clock.ts';
import { PortwardenError } from '../../shared/errors.ts';
import { parseHostPort } from '../../shared/address.ts';
import { unmapIPv4 } from '../../shared/cidr.ts';
import { name } from '../../shared/config/schema-parts.ts';
import type { Principal } from '../tokens/service.ts';
import type { AccessInput } from '../store/access.ts';
import type { Store } from '../store/store.ts';

const timestamp = z.union([
  z.iso.datetime({ offset: true }).transform((text) => Date.parse(text)),
  z.number().int().nonnegative(), // milliseconds since the epoch
]);
const total = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/**
 * One access record: `count` connections of one caller to one port, summed by the sidecar.
 * Only `port` and `last_access` are required, so older and hand-made reports still apply;
 * fields beyond these (`duration`, ...) are accepted and ignored.
 */
const recordSchema = z.looseObject({
  /** The port's name in the sidecar configuration, or its number. */
  port: z.union([name, z.number().int().min(1).max(65_535)]),
  identity: z.string().max(2048).nullish(),
  /** The caller's address; a source port (`10.0.0.1:5000`) is dropped. */
  origin: z.string().max(256).nullish(),
  count: z.number().int().nonnegative().default(1),
  bytes_in: total.default(0),
  bytes_out: total.default(0),
  first_access: timestamp.optional(),
  last_access: timestamp,
  decision: z.enum(['allow', 'deny']).default('allow'),
  /** A deny reason; any short word, so a newer sidecar's reasons do not make its batches bounce. */
  reason: z.string().regex(/^[a-z_]{1,64}$/).nullish(),
});

/** `POST /v1/telemetry`; further fields are accepted and ignored. */
export const telemetryBatchSchema = z.looseObject({
  batch_id: z.string().min(1).max(200),
  /** Only needed when an admin token posts; a sidecar token implies its service. */
  service: name.optional(),
  /** When the sidecar cut the batch; judged against the window below when present. */
  sent_at: timestamp.optional(),
  records: z.array(recordSchema).max(10_000),
});

/**
 * Batch ids are remembered this long, and batches are taken only when cut at most
 * `batchMaxAgeMs` before the authority's clock and at most `batchMaxAheadMs` after it. A batch
 * first received at R was cut before R + `batchMaxAheadMs`; taken again at T it was cut after
 * T - `batchMaxAgeMs`; so T - R < `batchMaxAgeMs` + `batchMaxAheadMs`, inside the memory: a
 * batch resent after any outage counts once or is refused, never twice.
 */
export const batchMaxAgeMs = 7 * 86_400_000;
export const batchMaxAheadMs = 3_600_000;
export const batchIdMemoryMs = batchMaxAgeMs + batchMaxAheadMs + 86_400_000;

export type TelemetryBatch = z.output<typeof telemetryBatchSchema>;
type BatchRecord = TelemetryBatch['records'][number];

export interface TelemetryResult {
  batch_id: string;
  service: string;
  /** False when this batch id was already applied (a retry); nothing was counted twice. */
  applied: boolean;
  /** Records added to the totals by this request: all of them, or 0 for a retry. */
  records: number;
}

/**
 * Access telemetry from sidecars, applied once per `batch_id` (sidecars retry a batch until
 * it is acknowledged): the claim of the id and every upsert share one transaction, so a batch
 * counts fully or not at all. It adds to the totals per caller (service, port, identity,
 * origin address) and per port, which `GET /v1/ports/{id}/access`, `licenses show` and the
 * register's cleanup read, and raises the last access of the port's active licenses for
 * admitted connections only, which keeps a `renew: auto` license renewed.
 */
export async function ingestTelemetry(store: Store, clock: Clock, principal: Principal, batch: TelemetryBatch): Promise<TelemetryResult> {
  const service = principal.role === 'sidecar' ? principal.service : batch.service;
  if (!service) throw new PortwardenError('bad_request', 'service: required when an admin token posts telemetry');
  if (batch.service !== undefined && batch.service !== service) {
    throw new PortwardenError('forbidden', `this token reports for service ${service}, not ${batch.service}`);
  }
  const now = clock.now();
  refuseOutOfWindow(batch, now);
  const records = batch.records.filter((record) => record.count > 0);
  const applied = await store.transaction(async (tx) => {
    if (!(await tx.telemetry.claimBatch(service, batch.batch_id, now))) return false;
    for (const record of records) {
      await tx.access.record(toAccessInput(service, record));
      // a refused connection is not a use: it does not keep a license alive
      if (record.decision === 'allow') {
        const port = typeof record.port === 'number' ? { number: record.port } : { name: record.port };
        await tx.licenses.touchAccess(service, port, record.last_access);
      }
    }
    return true;
  });
  return { batch_id: batch.batch_id, service, applied, records: applied ? records.length : 0 };
}

/** Refuses a batch whose `sent_at` lies outside the window in which its id is remembered (see `batchIdMemoryMs`). */
function refuseOutOfWindow(batch: TelemetryBatch, now: number): void {
  if (batch.sent_at === undefined) return;
  const sentAt = new Date(batch.sent_at).toISOString();
  if (batch.sent_at < now - batchMaxAgeMs) {
    throw new PortwardenError('batch_out_of_window', `batch ${batch.batch_id} was cut at ${sentAt}, more than 7d ago: its id may be forgotten, so it is not counted`);
  }
  if (batch.sent_at > now + batchMaxAheadMs) {
    throw new PortwardenError('batch_out_of_window', `batch ${batch.batch_id} was cut at ${sentAt}, more than 1h ahead of the authority's clock: check the sidecar's clock`);
  }
}

function toAccessInput(service: string, record: BatchRecord): AccessInput {
  const first = Math.min(record.first_access ?? record.last_access, record.last_access);
  return {
    service,
    port: String(record.port),
    identity: record.identity || null,
    origin: originAddress(record.origin ?? ''),
    count: record.count,
    bytesIn: record.bytes_in,
    bytesOut: record.bytes_out,
    firstAccessAt: first,
    lastAccessAt: record.last_access,
    decision: record.decision,
    reason: record.decision === 'deny' ? (record.reason ?? null) : null,
  };
}

/**
 * The caller's address without its source port, which changes with every connection and
 * would make one caller into thousands: `10.0.0.1:5000` and `[::ffff:10.0.0.1]:5000` are
 * `10.0.0.1`. Text that is no address is kept as sent.
 */
export function originAddress(text: string): string {
  if (isIP(text) !== 0) return unmapIPv4(text);
  const hostPort = parseHostPort(text);
  if (hostPort && isIP(hostPort.host) !== 0) return unmapIPv4(hostPort.host);
  return text;
}

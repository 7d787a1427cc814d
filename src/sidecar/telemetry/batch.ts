import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { denyReasons } from '../proxy/decide.ts';
import type { AccessSummary } from './access-table.ts';

/** One summed group in a batch, as `POST /v1/telemetry` receives it. Times are ISO 8601. */
export const batchRecordSchema = z.object({
  port: z.string().min(1),
  identity: z.string().min(1).nullable(),
  origin: z.string().min(1),
  count: z.number().int().min(1),
  bytes_in: z.number().int().min(0),
  bytes_out: z.number().int().min(0),
  first_access: z.iso.datetime(),
  last_access: z.iso.datetime(),
  decision: z.enum(['allow', 'deny']),
  reason: z.enum(denyReasons).nullable(),
});

/**
 * The body of `POST /v1/telemetry`. Delivery is at least once: a batch is resent, byte for
 * byte, until a 2xx arrives, so the authority must apply each `batch_id` once. `sent_at` is
 * when the batch was cut, not when this attempt left.
 */
export const telemetryBatchSchema = z.object({
  batch_id: z.uuid(),
  service: z.string().min(1),
  sent_at: z.iso.datetime(),
  records: z.array(batchRecordSchema).min(1),
});

export type BatchRecord = z.infer<typeof batchRecordSchema>;
export type TelemetryBatch = z.infer<typeof telemetryBatchSchema>;

/** Records per batch by default. */
export const defaultMaxRecordsPerBatch = 1_000;
/** Bytes of records per batch by default: half the authority's 1 MiB body limit, so long identities still fit. */
export const defaultMaxBatchBytes = 512 * 1024;

export interface BatchOptions {
  service: string;
  /** Milliseconds since the epoch. */
  now: number;
  maxRecords?: number;
  maxBytes?: number;
}

/** Cuts summed groups into batches of at most `maxRecords` and about `maxBytes`, each with a fresh `batch_id`. */
export function toBatches(summaries: readonly AccessSummary[], options: BatchOptions): TelemetryBatch[] {
  const maxRecords = options.maxRecords ?? defaultMaxRecordsPerBatch;
  const maxBytes = options.maxBytes ?? defaultMaxBatchBytes;
  const sentAt = new Date(options.now).toISOString();
  const batches: TelemetryBatch[] = [];
  let records: BatchRecord[] = [];
  let bytes = 0;
  const cut = () => {
    if (records.length === 0) return;
    batches.push({ batch_id: randomUUID(), service: options.service, sent_at: sentAt, records });
    records = [];
    bytes = 0;
  };
  for (const summary of summaries) {
    const record = toBatchRecord(summary);
    // a JSON estimate per record; one record alone always makes a batch
    const size = JSON.stringify(record).length + 1;
    if (records.length >= maxRecords || (records.length > 0 && bytes + size > maxBytes)) cut();
    records.push(record);
    bytes += size;
  }
  cut();
  return batches;
}

function toBatchRecord(summary: AccessSummary): BatchRecord {
  return {
    port: summary.port,
    identity: summary.identity,
    origin: summary.origin,
    count: summary.count,
    bytes_in: summary.bytesIn,
    bytes_out: summary.bytesOut,
    first_access: new Date(summary.firstAccess).toISOString(),
    last_access: new Date(summary.lastAccess).toISOString(),
    decision: summary.decision,
    reason: summary.reason,
  };
}

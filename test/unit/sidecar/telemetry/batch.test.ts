import { describe, expect, it } from 'vitest';
import type { AccessSummary } from '../../../../src/sidecar/telemetry/access-table.ts';
import { telemetryBatchSchema, toBatches } from '../../../../src/sidecar/telemetry/batch.ts';

const t0 = Date.UTC(2026, 0, 1);
const summary = (identity: string): AccessSummary => ({
  port: 'api',
  identity,
  origin: '10.0.0.1',
  count: 1,
  bytesIn: 0,
  bytesOut: 0,
  firstAccess: t0,
  lastAccess: t0,
  decision: 'allow',
  reason: null,
});

describe('toBatches', () => {
  it('cuts by record count and by size, every batch valid with its own id', () => {
    const small = Array.from({ length: 5 }, (_, i) => summary(`spiffe://corp/sa/${i}`));
    expect(toBatches(small, { service: 'payments', now: t0, maxRecords: 2 }).map((batch) => batch.records.length)).toEqual([2, 2, 1]);

    const long = Array.from({ length: 4 }, (_, i) => summary(`spiffe://corp/${'x'.repeat(2_000)}/${i}`));
    const batches = toBatches(long, { service: 'payments', now: t0, maxBytes: 5_000 });
    expect(batches.map((batch) => batch.records.length)).toEqual([2, 2]);
    for (const batch of batches) {
      expect(telemetryBatchSchema.safeParse(batch).success).toBe(true);
      expect(JSON.stringify(batch).length).toBeLessThan(5_000 + 200);
    }
    expect(new Set(batches.map((batch) => batch.batch_id)).size).toBe(2);
    expect(toBatches([], { service: 'payments', now: t0 })).toEqual([]);
  });
});

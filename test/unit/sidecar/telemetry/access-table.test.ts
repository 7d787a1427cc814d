import { describe, expect, it } from 'vitest';
import { createSidecarMetrics } from '../../../../src/sidecar/admin/metrics.ts';
import { AccessTable } from '../../../../src/sidecar/telemetry/access-table.ts';
import { access, valueOf } from './support.ts';

const t0 = Date.UTC(2026, 0, 1);

describe('AccessTable', () => {
  it('sums per port, identity and origin address (IPv4-mapped written plain)', () => {
    const table = new AccessTable({ maxEntries: 100 });
    table.add(access({ time: t0 + 2_000, originAddress: '10.1.2.3', bytesIn: 10, bytesOut: 20 }));
    table.add(access({ time: t0, originAddress: '::ffff:10.1.2.3', bytesIn: 1, bytesOut: 2 }));
    table.add(access({ time: t0 + 1_000, identity: undefined, decision: 'deny', reason: 'no_identity' }));
    table.add(access({ time: t0 + 1_000, port: 'admin' }));

    const rows = table.drain();
    expect(rows).toHaveLength(3);
    const api = rows.find((row) => row.port === 'api' && row.identity !== null);
    expect(api).toMatchObject({ origin: '10.1.2.3', count: 2, bytesIn: 11, bytesOut: 22, firstAccess: t0, lastAccess: t0 + 2_000, decision: 'allow', reason: null });
    expect(rows.find((row) => row.identity === null)).toMatchObject({ decision: 'deny', reason: 'no_identity', count: 1 });
    expect(table.size).toBe(0);
    expect(table.drain()).toEqual([]);
  });

  it('spans the earliest accept to the latest close, and keeps the decision of the latest', () => {
    const table = new AccessTable({ maxEntries: 10 });
    // a long connection accepted first closes after a short one accepted later
    table.add(access({ time: t0 + 5_000, decision: 'deny', reason: 'revoked' }));
    table.add(access({ time: t0 + 1_000, durationMs: 60_000 }));
    expect(table.drain()[0]).toMatchObject({ count: 2, firstAccess: t0 + 1_000, lastAccess: t0 + 61_000, decision: 'allow', reason: null });
  });

  it('evicts the least recently used group past max_entries and counts its records as dropped', async () => {
    const metrics = createSidecarMetrics(undefined, { processDefaults: false });
    const table = new AccessTable({ maxEntries: 2, dropped: metrics.telemetryDroppedTotal });
    const from = (address: string) => access({ originAddress: address });
    table.add(from('10.0.0.1'));
    table.add(from('10.0.0.1'));
    table.add(from('10.0.0.2'));
    table.add(from('10.0.0.1')); // used again: 10.0.0.2 is now the least recent
    table.add(from('10.0.0.3'));

    expect(table.drain().map((row) => [row.origin, row.count])).toEqual([
      ['10.0.0.1', 3],
      ['10.0.0.3', 1],
    ]);
    // one record evicted; draining the rest is not a loss
    expect(await valueOf(metrics.telemetryDroppedTotal, { reason: 'evicted' })).toBe(1);
  });
});

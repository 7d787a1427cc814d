import { describe, expect, it } from 'vitest';
import { createSidecarMetrics } from '../../../../src/sidecar/admin/metrics.ts';
import { LastAccessMetric } from '../../../../src/sidecar/telemetry/last-access-metric.ts';
import { access } from './support.ts';

const t0 = Date.UTC(2026, 0, 1);

function setup(maxSeries: number) {
  const metrics = createSidecarMetrics(undefined, { processDefaults: false });
  const metric = new LastAccessMetric({ gauge: metrics.lastAccess, maxSeries, beforeScrape: metrics.beforeScrape });
  // what a scrape of /metrics shows for the gauge
  const series = async () =>
    (await metrics.registry.metrics()).split('\n').filter((line) => line.startsWith('portwarden_last_access_timestamp_seconds{'));
  return { metric, series };
}

describe('LastAccessMetric', () => {
  it('stays bounded with 10,000 distinct identities: the first keep their series, the rest share _other', async () => {
    const { metric, series } = setup(100);
    for (let i = 0; i < 10_000; i += 1) {
      metric.observe(access({ identity: `spiffe://corp/ns/n/sa/${i}`, time: t0 + i * 1_000, originAddress: `10.0.${i >> 8}.${i & 255}` }));
    }
    const lines = await series();
    expect(lines).toHaveLength(101);
    expect(lines).toContain(`portwarden_last_access_timestamp_seconds{port="api",identity="spiffe://corp/ns/n/sa/0"} ${t0 / 1000}`);
    expect(lines).toContain(`portwarden_last_access_timestamp_seconds{port="api",identity="_other"} ${t0 / 1000 + 9_999}`);
    expect(lines.some((line) => line.includes('sa/100"'))).toBe(false);
    // no label holds an address
    expect(lines.some((line) => line.includes('10.0.'))).toBe(false);

    // a capped identity coming back keeps its own series
    metric.observe(access({ identity: 'spiffe://corp/ns/n/sa/5', time: t0 + 20_000_000 }));
    expect(await series()).toContain(`portwarden_last_access_timestamp_seconds{port="api",identity="spiffe://corp/ns/n/sa/5"} ${t0 / 1000 + 20_000}`);
    expect(await series()).toHaveLength(101);
  });

  it('counts only admitted accesses and never moves back in time', async () => {
    const { metric, series } = setup(10);
    metric.observe(access({ time: t0 + 5_000 }));
    metric.observe(access({ time: t0 + 1_000 }));
    metric.observe(access({ time: t0 + 9_000, decision: 'deny', reason: 'identity_not_allowed' }));
    metric.observe(access({ time: t0 + 9_000, identity: undefined, decision: 'deny', reason: 'no_identity' }));
    expect(await series()).toEqual([`portwarden_last_access_timestamp_seconds{port="api",identity="spiffe://corp/ns/billing/sa/api"} ${t0 / 1000 + 5}`]);
  });
});

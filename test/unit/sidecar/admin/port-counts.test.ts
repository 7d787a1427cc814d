import { describe, expect, it } from 'vitest';
import { createSidecarMetrics } from '../../../../src/sidecar/admin/metrics.ts';

/** The sidecar's series of `port` in a scrape, by name and labels. */
async function scrape(metrics: ReturnType<typeof createSidecarMetrics>): Promise<string[]> {
  return (await metrics.registry.metrics()).split('\n').filter((line) => line.startsWith('portwarden_') && line.includes('port="api"'));
}

describe('PortCounts', () => {
  it('shows every series of a port at zero from the start', async () => {
    const metrics = createSidecarMetrics(undefined, { processDefaults: false });
    metrics.portCounts('api');
    const lines = await scrape(metrics);
    expect(lines).toContain('portwarden_connections_total{port="api",decision="allow",reason=""} 0');
    expect(lines).toContain('portwarden_connections_active{port="api"} 0');
    expect(lines).toContain('portwarden_bytes_total{port="api",direction="in"} 0');
    expect(lines).toContain('portwarden_connection_duration_seconds_count{port="api"} 0');
  });

  it('writes what the data path counted into the series at scrape, once', async () => {
    const metrics = createSidecarMetrics(undefined, { processDefaults: false });
    // two listeners of one port share its counts
    const counts = metrics.portCounts('api');
    expect(metrics.portCounts('api')).toBe(counts);
    counts.allowed += 3;
    counts.active += 2;
    counts.bytesIn += 100;
    counts.bytesOut += 7;
    counts.deny('expired');
    counts.deny('expired');
    counts.deny('no_identity');
    counts.duration.observe(0.2);
    const expected = [
      'portwarden_connections_total{port="api",decision="allow",reason=""} 3',
      'portwarden_connections_total{port="api",decision="deny",reason="expired"} 2',
      'portwarden_connections_total{port="api",decision="deny",reason="no_identity"} 1',
      'portwarden_connections_active{port="api"} 2',
      'portwarden_bytes_total{port="api",direction="in"} 100',
      'portwarden_bytes_total{port="api",direction="out"} 7',
      'portwarden_connection_duration_seconds_bucket{le="0.5",port="api"} 1',
      'portwarden_connection_duration_seconds_count{port="api"} 1',
    ];
    expect(await scrape(metrics)).toEqual(expect.arrayContaining(expected));
    // a second scrape adds nothing twice
    expect(await scrape(metrics)).toEqual(expect.arrayContaining(expected));
    counts.allowed += 1;
    counts.active -= 2;
    const lines = await scrape(metrics);
    expect(lines).toContain('portwarden_connections_total{port="api",decision="allow",reason=""} 4');
    expect(lines).toContain('portwarden_connections_active{port="api"} 0');
  });

  it('folds before a metric is read on its own, not only in a full scrape', async () => {
    const metrics = createSidecarMetrics(undefined, { processDefaults: false });
    metrics.portCounts('api').allowed += 5;
    const { values } = await metrics.connectionsTotal.get();
    expect(values.find((v) => v.labels.decision === 'allow')?.value).toBe(5);
  });
});

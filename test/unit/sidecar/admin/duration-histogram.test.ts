import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { DurationHistogram } from '../../../../src/sidecar/admin/duration-histogram.ts';

const buckets = [0.005, 0.05, 0.5, 1, 5, 30, 120, 600, 3600];
const samples = [0, 0.001, 0.005, 0.0051, 0.3, 1, 7, 3600, 3600.5, 99_999];

describe('DurationHistogram', () => {
  it('scrapes exactly as prom-client\'s Histogram does for the same observations', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const histogram = new DurationHistogram({ name: 'portwarden_connection_duration_seconds', help: 'Duration of forwarded connections.', buckets, registers: [ours] });
    const reference = new Histogram({ name: 'portwarden_connection_duration_seconds', help: 'Duration of forwarded connections.', labelNames: ['port'], buckets, registers: [theirs] });
    for (const port of ['api', 'admin']) {
      const mine = histogram.forPort(port);
      reference.zero({ port });
      for (const seconds of port === 'api' ? samples : samples.slice(3)) {
        mine.observe(seconds);
        reference.observe({ port }, seconds);
      }
    }
    histogram.forPort('idle');
    reference.zero({ port: 'idle' });
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.getMetricsAsJSON()).toEqual(await theirs.getMetricsAsJSON());
  });

  it('reset zeroes every series and keeps them', async () => {
    const registry = new Registry();
    const histogram = new DurationHistogram({ name: 'd_seconds', help: 'd', buckets, registers: [registry] });
    histogram.forPort('api').observe(2);
    registry.resetMetrics();
    expect(await registry.metrics()).toContain('d_seconds_count{port="api"} 0');
  });
});

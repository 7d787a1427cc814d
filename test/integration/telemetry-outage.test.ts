import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/shared/clock.ts';
import { createSidecarMetrics } from '../../src/sidecar/admin/metrics.ts';
import { AccessTelemetry } from '../../src/sidecar/telemetry/telemetry.ts';
import { startTelemetrySink } from '../helpers/telemetry-sink.ts';
import { tempDir } from '../helpers/tmp.ts';
import { waitFor } from '../helpers/wait.ts';
import { access, capturedLogger, telemetryConfig } from '../unit/sidecar/telemetry/support.ts';

describe('access telemetry through an authority outage and a sidecar restart', () => {
  it('delivers every record exactly once, spooled batches first and in order', async () => {
    const sink = await startTelemetrySink();
    const dir = await tempDir();
    const config = await telemetryConfig(sink.url, dir);
    const clock = new ManualClock();
    const { logger } = capturedLogger();
    const sidecar = () => new AccessTelemetry({ config, metrics: createSidecarMetrics(undefined, { processDefaults: false }), logger, clock, closeTimeoutMs: 1_000 });
    let sent = 0;
    const traffic = (telemetry: AccessTelemetry, n: number) => {
      for (let i = 0; i < n; i += 1, sent += 1) {
        clock.advance(1_000);
        // a handful of callers, so groups both repeat and differ between rounds
        telemetry.onAccess(access({ time: clock.now(), originAddress: `10.0.0.${sent % 7}`, identity: `spiffe://corp/sa/${sent % 3}` }));
      }
    };

    const first = sidecar();
    await first.start();
    traffic(first, 20);
    await first.flush();
    expect(sink.totalCount()).toBe(20);

    await sink.stop();
    traffic(first, 15);
    await first.flush();
    traffic(first, 10);
    await first.flush();
    traffic(first, 5);
    await first.close(); // the last records are spooled, not lost
    const spooled = await readdir(join(dir, 'spool'));
    expect(spooled.length).toBeGreaterThanOrEqual(3);

    // a new process on the same spool, while the authority is still down
    const second = sidecar();
    await second.start();
    traffic(second, 8);
    await second.flush();

    await sink.start(); // back, on the same port
    await second.flush();
    traffic(second, 4);
    await second.flush();
    await second.close();

    expect(sink.totalCount()).toBe(sent);
    expect(new Set(sink.deliveries).size).toBe(sink.applied.length);
    // batches arrive in the order they were cut
    const cutAt = sink.applied.map((batch) => batch.sent_at);
    expect(cutAt).toEqual([...cutAt].sort());
    expect(await readdir(join(dir, 'spool'))).toEqual([]);
  });

  it('sends what a previous run spooled as soon as it starts', async () => {
    const sink = await startTelemetrySink();
    const dir = await tempDir();
    const config = await telemetryConfig(sink.url, dir);
    const { logger } = capturedLogger();
    const metrics = () => createSidecarMetrics(undefined, { processDefaults: false });
    await sink.stop();
    const before = new AccessTelemetry({ config, metrics: metrics(), logger, closeTimeoutMs: 1_000 });
    await before.start();
    before.onAccess(access());
    await before.close();
    await sink.start();

    const after = new AccessTelemetry({ config, metrics: metrics(), logger });
    await after.start();
    await waitFor(() => sink.totalCount() === 1, { what: 'the spooled batch' });
    await after.close();
  });
});

import { rm, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../../src/shared/clock.ts';
import { createSidecarMetrics } from '../../../../src/sidecar/admin/metrics.ts';
import { AccessTelemetry } from '../../../../src/sidecar/telemetry/telemetry.ts';
import { startTelemetrySink } from '../../../helpers/telemetry-sink.ts';
import { tempDir } from '../../../helpers/tmp.ts';
import { access, capturedLogger, telemetryConfig, valueOf } from './support.ts';

async function setup() {
  const sink = await startTelemetrySink();
  const dir = await tempDir();
  const config = await telemetryConfig(sink.url, dir);
  const metrics = createSidecarMetrics(undefined, { processDefaults: false });
  const { logger, lines } = capturedLogger();
  const telemetry = new AccessTelemetry({ config, metrics, logger, clock: new ManualClock() });
  await telemetry.start();
  return { sink, metrics, lines, telemetry, tokenFile: config.authority.token_file, spoolDir: config.telemetry.spool_dir };
}

describe('TelemetryReporter', () => {
  it('reports summed records with the bearer token, in the documented batch shape', async () => {
    const { sink, telemetry } = await setup();
    for (let i = 0; i < 3; i += 1) telemetry.onAccess(access({ bytesIn: 10, bytesOut: 20 }));
    await telemetry.flush();
    await telemetry.close();

    expect(sink.authorizations).toEqual(['Bearer pw_sidecar_token']);
    expect(sink.applied).toHaveLength(1);
    expect(sink.applied[0]).toEqual({
      batch_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      service: 'payments',
      sent_at: '2026-01-01T00:00:00.000Z',
      records: [
        {
          port: 'api',
          identity: 'spiffe://corp/ns/billing/sa/api',
          origin: '10.1.2.3',
          count: 3,
          bytes_in: 30,
          bytes_out: 60,
          first_access: '2026-01-01T00:00:00.000Z',
          last_access: '2026-01-01T00:00:00.000Z',
          decision: 'allow',
          reason: null,
        },
      ],
    });
  });

  it('resends a batch whose acknowledgement was lost under the same batch_id, so a deduping authority counts it once', async () => {
    const { sink, metrics, telemetry } = await setup();
    sink.mode = 'lose_response';
    telemetry.onAccess(access());
    telemetry.onAccess(access({ originAddress: '10.9.9.9' }));
    await telemetry.flush();
    expect(await valueOf(metrics.telemetryBatchesTotal, { result: 'failed' })).toBe(1);
    expect(await valueOf(metrics.telemetrySpoolBytes)).toBeGreaterThan(0);

    sink.mode = 'ok';
    await telemetry.flush();
    expect(sink.deliveries).toHaveLength(2);
    expect(sink.deliveries[0]).toBe(sink.deliveries[1]);
    expect(sink.totalCount()).toBe(2);
    expect(await valueOf(metrics.telemetryBatchesTotal, { result: 'acked' })).toBe(1);
    expect(await valueOf(metrics.telemetrySpoolBytes)).toBe(0);
    await telemetry.close();
  });

  it('drops a batch the authority refuses as malformed, counts it, and goes on', async () => {
    const { sink, metrics, lines, telemetry } = await setup();
    sink.mode = 'reject';
    telemetry.onAccess(access());
    await telemetry.flush();
    sink.mode = 'ok';
    telemetry.onAccess(access({ port: 'admin' }));
    await telemetry.flush();

    expect(sink.applied.map((batch) => batch.records[0]?.port)).toEqual(['admin']);
    expect(await valueOf(metrics.telemetryDroppedTotal, { reason: 'rejected' })).toBe(1);
    expect(lines.find((line) => line.msg === 'authority rejected a telemetry batch; dropped')).toMatchObject({ level: 'error', status: 400, code: 'bad_request' });
    await telemetry.close();
  });

  it('keeps a batch refused for its token and delivers it once the token file is rotated', async () => {
    const { sink, metrics, telemetry, tokenFile } = await setup();
    sink.requiredToken = 'pw_rotated_token';
    telemetry.onAccess(access());
    await telemetry.flush();
    expect(sink.applied).toEqual([]);
    expect(await valueOf(metrics.telemetryBatchesTotal, { result: 'failed' })).toBe(1);

    await writeFile(tokenFile, 'pw_rotated_token\n');
    await telemetry.flush();
    expect(sink.totalCount()).toBe(1);
    expect(sink.authorizations.at(-1)).toBe('Bearer pw_rotated_token');
    await telemetry.close();
  });

  it('counts a batch it can neither deliver nor spool as dropped, and keeps reporting', async () => {
    const { sink, metrics, lines, telemetry, spoolDir } = await setup();
    await sink.stop();
    await rm(spoolDir, { recursive: true });
    await writeFile(spoolDir, 'a file where the spool directory was');
    telemetry.onAccess(access());
    await telemetry.flush();
    expect(await valueOf(metrics.telemetryDroppedTotal, { reason: 'spool_error' })).toBe(1);
    expect(lines.some((line) => line.msg === 'cannot write telemetry batch to the spool; dropped')).toBe(true);

    await sink.start();
    telemetry.onAccess(access());
    await telemetry.flush();
    expect(sink.totalCount()).toBe(1);
    await telemetry.close();
  });

  it('exposes its metrics under their public names, and no series names an origin address', async () => {
    const { sink, metrics, telemetry } = await setup();
    telemetry.onAccess(access({ originAddress: '10.77.0.9' }));
    sink.mode = 'unavailable';
    await telemetry.flush();
    const text = await metrics.registry.metrics();
    for (const name of [
      'portwarden_last_access_timestamp_seconds',
      'portwarden_telemetry_dropped_total',
      'portwarden_telemetry_batches_total',
      'portwarden_telemetry_spool_bytes',
      'portwarden_unregistered_listeners',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    expect(text).toContain('portwarden_telemetry_batches_total{result="failed"} 1');
    expect(text).not.toContain('10.77.0.9');
    await telemetry.close();
  });
});

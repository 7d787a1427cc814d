import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { batchIdMemoryMs } from '../../src/authority/access/telemetry.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { createSidecarMetrics } from '../../src/sidecar/admin/metrics.ts';
import { AccessTelemetry } from '../../src/sidecar/telemetry/telemetry.ts';
import { startTestAuthority, type TestAuthority } from '../helpers/authority.ts';
import { freshPostgresUrl, warnIfNoPostgres, withPostgres } from '../helpers/postgres.ts';
import { tempDir } from '../helpers/tmp.ts';

warnIfNoPostgres();
import { access, capturedLogger, telemetryConfig, valueOf } from '../unit/sidecar/telemetry/support.ts';

const day = 86_400_000;

/** payments/api's total count as the authority holds it. */
async function countOf(t: TestAuthority): Promise<number> {
  const callers = await t.authority.context.store.read((tx) => tx.access.callers({ service: 'payments', limit: 10 }));
  return callers.reduce((sum, caller) => sum + caller.count, 0);
}

function batch(id: string, sentAt: number) {
  const at = new Date(sentAt).toISOString();
  return { batch_id: id, service: 'payments', sent_at: at, records: [{ port: 'api', identity: 'spiffe://corp/a', origin: '10.0.0.1', count: 1, last_access: at }] };
}

describe.each([
  { store: 'sqlite', it, config: async () => ({}) },
  { store: 'postgres', it: withPostgres, config: async () => ({ storage: { url: await freshPostgresUrl() } }) },
])('on $store', ({ it: storeIt, config }) => {
  storeIt('counts a resent batch once within the window and refuses it, coded, once its id may be forgotten', async () => {
    const t = await startTestAuthority({ config: await config() });
    const cutAt = t.clock.now();
    expect((await t.api('POST', '/v1/telemetry', { body: batch('b-1', cutAt) })).body).toMatchObject({ applied: true, records: 1 });

    // six days later the id is still remembered: the retry is acknowledged and not counted again
    t.clock.advance(6 * day);
    expect((await t.api('POST', '/v1/telemetry', { body: batch('b-1', cutAt) })).body).toMatchObject({ applied: false, records: 0 });

    // at the window's very end, with the ids pruned as the renewer prunes them, still remembered
    t.clock.advance(day - 60_000);
    await t.authority.context.store.transaction((tx) => tx.telemetry.pruneBatches(t.clock.now() - batchIdMemoryMs));
    expect((await t.api('POST', '/v1/telemetry', { body: batch('b-1', cutAt) })).body).toMatchObject({ applied: false, records: 0 });

    // past seven days the authority may have forgotten the id: refused rather than counted twice
    t.clock.advance(2 * 60_000);
    const late = await t.api('POST', '/v1/telemetry', { body: batch('b-1', cutAt) });
    expect([late.status, late.body.error.code]).toEqual([422, 'batch_out_of_window']);
    expect(late.body.error.message).toBe(`batch b-1 was cut at ${new Date(cutAt).toISOString()}, more than 7d ago: its id may be forgotten, so it is not counted`);

    // a batch stamped well ahead of the authority's clock is refused too (its id would be kept too briefly)
    const ahead = await t.api('POST', '/v1/telemetry', { body: batch('b-2', t.clock.now() + 2 * 3_600_000) });
    expect([ahead.status, ahead.body.error.code]).toEqual([422, 'batch_out_of_window']);
    expect(await countOf(t)).toBe(1);
  });
});

it('a sidecar drops a batch the authority refuses as out of the window, counts it as dropped, not sent, and logs it', async () => {
  const t = await startTestAuthority();
  const token = (await t.api('POST', '/v1/tokens', { body: { role: 'sidecar', service: 'payments' } })).body.token as string;
  const dir = await tempDir();
  const config = await telemetryConfig(t.url, dir);
  await writeFile(join(dir, 'sidecar.token'), `${token}\n`, { mode: 0o600 });
  // the batch in the spool was cut eight days before the authority's now: a long outage
  const sidecarClock = new ManualClock(t.clock.now() - 8 * day);
  const metrics = createSidecarMetrics(undefined, { processDefaults: false });
  const { logger, lines } = capturedLogger();
  const telemetry = new AccessTelemetry({ config, metrics, logger, clock: sidecarClock, closeTimeoutMs: 1_000 });
  await telemetry.start();
  telemetry.onAccess(access({ time: sidecarClock.now() }));
  telemetry.onAccess(access({ time: sidecarClock.now(), originAddress: '10.9.9.9' }));
  await telemetry.flush();

  expect(await valueOf(metrics.telemetryDroppedTotal, { reason: 'out_of_window' })).toBe(2);
  expect(await valueOf(metrics.telemetryBatchesTotal, { result: 'rejected' })).toBe(1);
  expect(await valueOf(metrics.telemetryBatchesTotal, { result: 'acked' })).toBe(0);
  expect(lines).toContainEqual(expect.objectContaining({ level: 'error', code: 'batch_out_of_window', records: 2, msg: 'authority rejected a telemetry batch; dropped' }));
  expect(await countOf(t)).toBe(0);

  // the next batch, cut on a clock in step with the authority's, is taken
  sidecarClock.set(t.clock.now());
  telemetry.onAccess(access({ time: sidecarClock.now() }));
  await telemetry.flush();
  expect(await valueOf(metrics.telemetryBatchesTotal, { result: 'acked' })).toBe(1);
  expect(await countOf(t)).toBe(1);
  await telemetry.close();
});

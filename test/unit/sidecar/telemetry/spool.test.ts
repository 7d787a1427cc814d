import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSidecarMetrics } from '../../../../src/sidecar/admin/metrics.ts';
import { toBatches } from '../../../../src/sidecar/telemetry/batch.ts';
import { Spool } from '../../../../src/sidecar/telemetry/spool.ts';
import { tempDir } from '../../../helpers/tmp.ts';
import { capturedLogger, valueOf } from './support.ts';

const t0 = Date.UTC(2026, 0, 1);

/** A valid batch body with `records` groups, padded by origin so sizes are alike. */
function body(records: number): string {
  const summaries = Array.from({ length: records }, (_, i) => ({
    port: 'api',
    identity: 'spiffe://corp/ns/billing/sa/api',
    origin: `10.0.0.${i + 1}`,
    count: 1,
    bytesIn: 1,
    bytesOut: 1,
    firstAccess: t0,
    lastAccess: t0,
    decision: 'allow' as const,
    reason: null,
  }));
  const [batch] = toBatches(summaries, { service: 'payments', now: t0 });
  return JSON.stringify(batch);
}

async function setup(dir: string, maxBytes = 1_000_000) {
  const metrics = createSidecarMetrics(undefined, { processDefaults: false });
  const { logger, lines } = capturedLogger();
  const spool = new Spool({ dir, maxBytes, logger, dropped: metrics.telemetryDroppedTotal, bytesGauge: metrics.telemetrySpoolBytes });
  await spool.open();
  return { spool, metrics, lines };
}

describe('Spool', () => {
  it('hands batches back oldest first, across a restart, and leaves no temp files', async () => {
    const dir = await tempDir();
    const first = await setup(dir);
    const bodies = [body(1), body(2), body(3)];
    for (const [i, text] of bodies.entries()) await first.spool.append(text, i + 1);
    expect(await valueOf(first.metrics.telemetrySpoolBytes)).toBe(bodies.reduce((sum, text) => sum + Buffer.byteLength(text), 0));

    // a crash mid-write leaves a temp file; the next run removes it
    await writeFile(join(dir, '.000000000009-1.json.tmp'), '{"half');
    const second = await setup(dir);
    expect(second.spool.batches).toBe(3);
    expect(await readdir(dir)).not.toContain('.000000000009-1.json.tmp');

    const seen: string[] = [];
    for (let item = await second.spool.peek(); item; item = await second.spool.peek()) {
      seen.push(item.body);
      await second.spool.remove(item.entry);
    }
    expect(seen).toEqual(bodies);
    // new batches continue the sequence rather than reuse a name
    await second.spool.append(body(1), 1);
    expect(await readdir(dir)).toEqual(['000000000004-1.json']);
    expect(await valueOf(second.metrics.telemetrySpoolBytes)).toBe(Buffer.byteLength(body(1)));
  });

  it('drops the oldest batches when full and counts their records', async () => {
    const dir = await tempDir();
    const size = Buffer.byteLength(body(2));
    const { spool, metrics, lines } = await setup(dir, size * 2 + 10);
    await spool.append(body(2), 2);
    await spool.append(body(2), 2);
    const third = body(2);
    await spool.append(third, 2);

    expect(spool.batches).toBe(2);
    expect(spool.bytes).toBeLessThanOrEqual(size * 2 + 10);
    expect(await readdir(dir)).toEqual(['000000000002-2.json', '000000000003-2.json']);
    expect(await valueOf(metrics.telemetryDroppedTotal, { reason: 'spool_full' })).toBe(2);
    expect(lines.some((line) => line.level === 'warn' && line.msg === 'telemetry spool full; oldest batches dropped')).toBe(true);

    // one batch larger than the whole spool is refused and counted
    expect(await spool.append(body(20), 20)).toBe(false);
    expect(await valueOf(metrics.telemetryDroppedTotal, { reason: 'spool_full' })).toBe(22);
  });

  it('skips a corrupt file with a warning, counts its records and goes on to the next', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, '000000000001-7.json'), '{"batch_id": "trunc');
    await writeFile(join(dir, '000000000002-1.json'), JSON.stringify({ not: 'a batch' }));
    const good = body(1);
    await writeFile(join(dir, '000000000003-1.json'), good);
    await writeFile(join(dir, 'notes.txt'), 'not ours');
    const { spool, metrics, lines } = await setup(dir);

    const item = await spool.peek();
    expect(item?.body).toBe(good);
    expect(await valueOf(metrics.telemetryDroppedTotal, { reason: 'spool_corrupt' })).toBe(8);
    const warnings = lines.filter((line) => line.msg === 'telemetry spool file is corrupt; skipped and removed');
    expect(warnings.map((line) => line.file)).toEqual(['000000000001-7.json', '000000000002-1.json']);
    expect((await readdir(dir)).sort()).toEqual(['000000000003-1.json', 'notes.txt']);
  });
});

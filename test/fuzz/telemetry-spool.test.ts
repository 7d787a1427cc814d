import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createSidecarMetrics } from '../../src/sidecar/admin/metrics.ts';
import { telemetryBatchSchema } from '../../src/sidecar/telemetry/batch.ts';
import { Spool } from '../../src/sidecar/telemetry/spool.ts';
import { fc, fuzzAsync, mutatedText } from '../helpers/fuzz.ts';
import { capturedLogger } from '../unit/sidecar/telemetry/support.ts';
import { tempDir } from '../helpers/tmp.ts';

const at = '2026-01-01T00:00:00.000Z';
/** A batch as the reporter spools it. */
const batch = fc
  .record({
    batch_id: fc.uuid(),
    records: fc.array(
      fc.record({ port: fc.constantFrom('api', 'grpc'), identity: fc.option(fc.constantFrom('spiffe://corp/a', 'x'), { nil: null }), origin: fc.constantFrom('10.0.0.1', '[::1]'), count: fc.integer({ min: 1, max: 9 }), bytes_in: fc.nat(), bytes_out: fc.nat(), first_access: fc.constant(at), last_access: fc.constant(at), decision: fc.constant('allow'), reason: fc.constant(null) }),
      { minLength: 1, maxLength: 3 },
    ),
  })
  .map((b) => JSON.stringify({ batch_id: b.batch_id, service: 'payments', sent_at: at, records: b.records }));

/** A spool directory as a crash, a full disk or a stranger could leave it. */
const spoolFiles = fc.array(
  fc.oneof(
    { weight: 4, arbitrary: fc.record({ seq: fc.integer({ min: 1, max: 50 }), records: fc.integer({ min: 0, max: 99 }), body: mutatedText(batch, fc.constantFrom('"', '{', '}', ',', '0', 'null', '[]')) }).map((f) => ({ name: `${String(f.seq).padStart(12, '0')}-${f.records}.json`, records: f.records, body: f.body })) },
    { weight: 1, arbitrary: fc.record({ name: fc.constantFrom('.000000000001-1.json.tmp', 'notes.txt', '12-1.json', '000000000001-x.json', 'a.tmp'), body: fc.string({ maxLength: 20 }) }).map((f) => ({ ...f, records: 0 })) },
  ),
  { maxLength: 8 },
);

describe('the telemetry spool’s file format, fuzzed', () => {
  it('sends only batches that read back whole, drops and counts the rest, and leaves strangers’ files alone', async () => {
    const root = await tempDir();
    let n = 0;
    await fuzzAsync(300, 5_000, spoolFiles, async (files) => {
      const dir = join(root, `case-${n++}`);
      await mkdir(dir, { recursive: true });
      const written = new Map<string, { body: string; records: number }>();
      for (const f of files) {
        written.set(f.name, f);
        await writeFile(join(dir, f.name), f.body);
      }
      const metrics = createSidecarMetrics(new Registry(), { processDefaults: false });
      const spool = new Spool({ dir, maxBytes: 1 << 20, logger: capturedLogger().logger, dropped: metrics.telemetryDroppedTotal, bytesGauge: metrics.telemetrySpoolBytes });
      await spool.open();
      const sent: string[] = [];
      for (let item = await spool.peek(); item !== undefined; item = await spool.peek()) {
        // what goes to the authority is a batch exactly as it was spooled
        expect(telemetryBatchSchema.safeParse(JSON.parse(item.body)).success).toBe(true);
        expect(item.body).toBe(written.get(item.entry.name)?.body);
        sent.push(item.entry.name);
        await spool.remove(item.entry);
      }
      const ours = [...written.entries()].filter(([name]) => /^\d{12}-\d{1,9}\.json$/.test(name));
      const corrupt = ours.filter(([name]) => !sent.includes(name));
      const dropped = (await metrics.telemetryDroppedTotal.get()).values.find((v) => v.labels.reason === 'spool_corrupt')?.value ?? 0;
      expect(dropped).toBe(corrupt.reduce((sum, [, f]) => sum + f.records, 0));
      expect(sent).toEqual([...sent].sort());
      // our files are gone (sent or dropped), temp files removed, anything else untouched
      const left = await readdir(dir);
      expect(left.sort()).toEqual([...written.keys()].filter((name) => !/^\d{12}-\d{1,9}\.json$/.test(name) && !name.endsWith('.tmp')).sort());
      expect(spool.bytes).toBe(0);
      await rm(dir, { recursive: true, force: true });
    });
  });
});

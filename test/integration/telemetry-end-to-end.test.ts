import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/shared/clock.ts';
import type { AccessRecord } from '../../src/sidecar/proxy/access-record.ts';
import { InventoryReporter } from '../../src/sidecar/inventory/reporter.ts';
import { sidecarOwnPorts } from '../../src/sidecar/inventory/own-ports.ts';
import { AccessTelemetry } from '../../src/sidecar/telemetry/telemetry.ts';
import { startTestAuthority } from '../helpers/authority.ts';
import { connectTo, echo, readAll, startSidecar, startUpstream, testConfig } from '../helpers/sidecar-harness.ts';
import { LOCAL_IDENTITY } from '../helpers/static-license-source.ts';
import { tempDir } from '../helpers/tmp.ts';
import { waitFor } from '../helpers/wait.ts';
import { capturedLogger } from '../unit/sidecar/telemetry/support.ts';

describe('access telemetry from the proxy to the authority', () => {
  it('sums closed connections and lands them in the authority, once, with the last-access gauge set', async () => {
    // the sidecar runs on the real clock: the authority's must agree, or its batches fall outside the window
    const authority = await startTestAuthority({ clock: new ManualClock(Date.now()) });
    const created = await authority.api('POST', '/v1/tokens', { body: { role: 'sidecar', service: 'payments' } });
    const dir = await tempDir();
    const tokenFile = join(dir, 'sidecar.token');
    await writeFile(tokenFile, created.body.token, { mode: 0o600 });
    const upstream = await startUpstream(echo);
    const config = testConfig([{ name: 'api', upstream: upstream.address }], {
      authority: { url: authority.url, token_file: tokenFile },
      telemetry: { report_interval: '1h', spool_dir: join(dir, 'spool') },
    });

    const seen: AccessRecord[] = [];
    // the harness makes the metrics registry, so telemetry is made after it and hooked in here
    const hook: { telemetry?: AccessTelemetry } = {};
    const harness = await startSidecar(config, {
      onAccess: (record) => {
        seen.push(record);
        hook.telemetry?.onAccess(record);
      },
    });
    const { logger } = capturedLogger();
    const telemetry = new AccessTelemetry({ config, metrics: harness.metrics, logger });
    hook.telemetry = telemetry;
    await telemetry.start();

    for (let i = 0; i < 3; i += 1) {
      const client = await connectTo(harness.address('api'));
      const done = readAll(client);
      client.end('ping');
      expect((await done).data.toString()).toBe('ping');
    }
    await waitFor(() => seen.length === 3, { what: 'three access records' });
    await telemetry.flush();
    await telemetry.flush(); // nothing new: no empty batch, nothing counted twice

    const accesses = await authority.authority.context.store.read((tx) => tx.access.callers({ service: 'payments', limit: 10 }));
    expect(accesses).toEqual([expect.objectContaining({ service: 'payments', port: 'api', identity: LOCAL_IDENTITY, origin: '127.0.0.1', count: 3 })]);
    const last = Math.max(...seen.map((record) => record.time + record.durationMs));
    expect(accesses[0]?.lastAccessAt).toBe(last);
    expect(await harness.metric('portwarden_last_access_timestamp_seconds', { port: 'api', identity: LOCAL_IDENTITY })).toBe(last / 1000);
    expect(await harness.metric('portwarden_telemetry_batches_total', { result: 'acked' })).toBe(1);

    // the inventory's local estimate leaves out the sidecar's own bound ports, not its upstream's
    const adminPort = Number(new URL(harness.adminUrl()).port);
    expect(sidecarOwnPorts(harness.sidecar).sort()).toEqual([harness.address('api').port, adminPort].sort());
    const inventory = new InventoryReporter({ config, metrics: harness.metrics, logger, ownPorts: () => sidecarOwnPorts(harness.sidecar) });
    const status = await inventory.report();
    expect(status?.basis).toBe('authority'); // the authority judges the listeners against the register
    await inventory.close();
    await harness.sidecar.close({ deadlineMs: 0 });
    await telemetry.close();
  });
});

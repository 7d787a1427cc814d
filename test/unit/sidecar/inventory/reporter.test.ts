import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../../src/shared/clock.ts';
import { InventoryReporter } from '../../../../src/sidecar/inventory/reporter.ts';
import type { Listener } from '../../../../src/sidecar/inventory/proc-net.ts';
import { createSidecarMetrics } from '../../../../src/sidecar/admin/metrics.ts';
import { startTelemetrySink } from '../../../helpers/telemetry-sink.ts';
import { tempDir } from '../../../helpers/tmp.ts';
import { capturedLogger, telemetryConfig, valueOf } from '../telemetry/support.ts';

const listeners: Listener[] = [
  { protocol: 'tcp', address: '0.0.0.0', port: 8443, inode: 1 }, // the sidecar's listen port
  { protocol: 'tcp', address: '0.0.0.0', port: 9000, inode: 2 }, // SO_REUSEPORT pair: reported once
  { protocol: 'tcp', address: '0.0.0.0', port: 9000, inode: 3 },
  { protocol: 'tcp', address: '::', port: 9000, inode: 4 },
  { protocol: 'tcp', address: '127.0.0.1', port: 6060, inode: 5 }, // loopback: not reachable from off the host
  { protocol: 'tcp', address: '::ffff:127.0.0.1', port: 6061, inode: 6 },
  { protocol: 'udp', address: '0.0.0.0', port: 5353, inode: 7 },
  { protocol: 'udp', address: '127.0.0.53', port: 53, inode: 8 },
];

async function setup() {
  const sink = await startTelemetrySink();
  const config = await telemetryConfig(sink.url, await tempDir());
  const metrics = createSidecarMetrics(undefined, { processDefaults: false });
  const { logger, lines } = capturedLogger();
  const reporter = new InventoryReporter({
    config,
    metrics,
    logger,
    clock: new ManualClock(),
    ownPorts: () => [8443, 8080, 9901],
    read: async () => listeners,
  });
  return { sink, metrics, lines, reporter };
}

describe('InventoryReporter', () => {
  it('reports each listener once and counts unregistered ones locally until the authority answers', async () => {
    const { sink, metrics, lines, reporter } = await setup();
    const local = await reporter.report();

    expect(sink.authorizations).toEqual(['Bearer pw_sidecar_token']);
    expect(sink.inventories).toEqual([
      {
        service: 'payments',
        sent_at: '2026-01-01T00:00:00.000Z',
        listeners: [
          { protocol: 'tcp', address: '127.0.0.1', port: 6060 },
          { protocol: 'tcp', address: '::ffff:127.0.0.1', port: 6061 },
          { protocol: 'tcp', address: '0.0.0.0', port: 8443 },
          { protocol: 'tcp', address: '0.0.0.0', port: 9000 },
          { protocol: 'tcp', address: '::', port: 9000 },
          { protocol: 'udp', address: '127.0.0.53', port: 53 },
          { protocol: 'udp', address: '0.0.0.0', port: 5353 },
        ],
        // what the sidecar accounts for itself, so the authority's answer leaves them out too
        sidecar_ports: [8080, 8443, 9901],
      },
    ]);
    // the authority has no /v1/inventory yet (404): the local estimate
    expect(local?.basis).toBe('local');
    expect(local?.unregistered).toEqual([
      { protocol: 'tcp', address: '0.0.0.0', port: 9000 },
      { protocol: 'tcp', address: '::', port: 9000 },
      { protocol: 'udp', address: '0.0.0.0', port: 5353 },
    ]);
    expect(await valueOf(metrics.unregisteredListeners)).toBe(3);
    expect(lines.filter((line) => line.msg === 'listening sockets neither registered nor fronted by a sidecar')).toHaveLength(1);

    sink.inventoryAnswer = { unregistered: [{ protocol: 'tcp', address: '0.0.0.0', port: 9000 }] };
    expect((await reporter.report())?.basis).toBe('authority');
    expect(await valueOf(metrics.unregisteredListeners)).toBe(1);

    await sink.stop();
    expect(reporter.status()?.basis).toBe('authority');
    expect((await reporter.report())?.basis).toBe('local');
    expect(await valueOf(metrics.unregisteredListeners)).toBe(3);
    await reporter.close();
    await reporter.close();
  });
});

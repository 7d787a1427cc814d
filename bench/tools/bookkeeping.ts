/**
 * The sidecar's per-connection bookkeeping alone, in one process with no sockets: N
 * connections admitted and closed through the port's accounting (metrics; with `log` the
 * access line to /dev/null through the batched writer; with `telemetry` the access table and
 * last-access gauge), then one scrape. Run under callgrind with N and with 0 and subtract: the
 * instructions per connection of exactly that code, independent of the machine's load.
 *   node_modules/.bin/node bench/tools/bookkeeping.ts N [metrics,log,telemetry]
 *   valgrind --tool=callgrind --callgrind-out-file=/dev/null node_modules/.bin/node bench/tools/bookkeeping.ts 100000 metrics,log
 */
import { openSync } from 'node:fs';
import { createSidecarMetrics } from '../../src/sidecar/admin/metrics.ts';
import { PortAccounting } from '../../src/sidecar/proxy/accounting.ts';
import type { Connection } from '../../src/sidecar/proxy/connection.ts';
import { AccessTable } from '../../src/sidecar/telemetry/access-table.ts';
import { LastAccessMetric } from '../../src/sidecar/telemetry/last-access-metric.ts';
import { batchedDestination, createLogger } from '../../src/shared/logger.ts';

const count = Number(process.argv[2] ?? '100000');
const parts = new Set((process.argv[3] ?? 'metrics,log,telemetry').split(','));
const metrics = createSidecarMetrics(undefined, { processDefaults: false });
const logger = createLogger({ level: parts.has('log') ? 'info' : 'warn', destination: batchedDestination(openSync('/dev/null', 'w')) }).child({ component: 'sidecar', port: 'echo' });
const table = new AccessTable({ maxEntries: 10_000, dropped: metrics.telemetryDroppedTotal });
const lastAccess = new LastAccessMetric({ gauge: metrics.lastAccess, maxSeries: 1_000, beforeScrape: metrics.beforeScrape });
const accounting = new PortAccounting({
  port: 'echo',
  metrics,
  logger,
  clock: { now: () => Date.now() },
  onAccess: parts.has('telemetry')
    ? (record) => {
        table.add(record);
        lastAccess.observe(record);
      }
    : undefined,
});

const origin = { address: '127.0.0.1', port: 40_000 };
for (let i = 0; i < count; i += 1) {
  accounting.admitted();
  // what `closed` reads of a connection: one byte each way, closed by the caller
  const conn = {
    id: i,
    startedAt: Date.now(),
    identity: 'spiffe://bench/client',
    origin: { address: origin.address, port: origin.port + (i % 20_000) },
    lid: 'lic_bench',
    bytesIn: 1,
    bytesOut: 1,
    countedIn: 0,
    countedOut: 0,
    closeReason: 'client',
    upstreamErrorCode: undefined,
  } as unknown as Connection;
  accounting.closed(conn);
}
await metrics.registry.metrics();
process.stdout.write(`${count} connections: ${parts.size > 0 ? [...parts].join(',') : 'nothing'}\n`);

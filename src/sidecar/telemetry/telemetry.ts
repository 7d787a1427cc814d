import { systemClock, type Clock } from '../../shared/clock.ts';
import type { SidecarConfig } from '../../shared/config/sidecar-schema.ts';
import type { Logger } from '../../shared/logger.ts';
import type { DispatcherSource } from '../authority/transport.ts';
import type { SidecarMetrics } from '../admin/metrics.ts';
import type { TelemetryAccess } from './access.ts';
import { AccessTable } from './access-table.ts';
import { AuthorityPoster } from './authority-post.ts';
import { LastAccessMetric } from './last-access-metric.ts';
import { TelemetryReporter } from './reporter.ts';
import { Spool } from './spool.ts';

export interface AccessTelemetryOptions {
  config: Pick<SidecarConfig, 'service' | 'authority' | 'telemetry'>;
  metrics: SidecarMetrics;
  logger: Logger;
  clock?: Clock;
  /** The sidecar's shared authority transport (`AuthorityTransport`), asked per request; one is made from `config.authority` when absent. */
  transport?: DispatcherSource;
  /** How long `close` may spend delivering the last batches before spooling them. */
  closeTimeoutMs?: number;
}

/**
 * The sidecar's access telemetry, end to end: `onAccess` takes one record per closed
 * connection, sums it in the bounded table and updates the last-access gauge; the reporter
 * ships the sums to the authority every `telemetry.report_interval`, spooling through outages.
 *
 * The Sidecar makes one at start, passes `onAccess` to the proxy, awaits `start()` before
 * accepting, and awaits `close()` after the proxy has drained (so the last connections are in
 * the final batch). `telemetry.*` settings take effect on restart, not on reload.
 */
export class AccessTelemetry {
  readonly #table: AccessTable;
  readonly #lastAccess: LastAccessMetric;
  readonly #poster: AuthorityPoster;
  readonly #reporter: TelemetryReporter;
  #closing: Promise<void> | undefined;

  constructor({ config, metrics, logger, clock = systemClock, transport, closeTimeoutMs }: AccessTelemetryOptions) {
    const log = logger.child({ component: 'telemetry' });
    const { telemetry } = config;
    this.#table = new AccessTable({ maxEntries: telemetry.max_entries, dropped: metrics.telemetryDroppedTotal });
    this.#lastAccess = new LastAccessMetric({ gauge: metrics.lastAccess, maxSeries: telemetry.max_identities, beforeScrape: metrics.beforeScrape });
    this.#poster = new AuthorityPoster({ baseUrl: config.authority.url, tokenFile: config.authority.token_file, transport, tls: config.authority });
    const spool = new Spool({
      dir: telemetry.spool_dir,
      maxBytes: telemetry.spool_max_bytes,
      logger: log,
      dropped: metrics.telemetryDroppedTotal,
      bytesGauge: metrics.telemetrySpoolBytes,
    });
    this.#reporter = new TelemetryReporter({
      service: config.service,
      table: this.#table,
      spool,
      poster: this.#poster,
      clock,
      logger: log,
      intervalMs: telemetry.report_interval,
      closeTimeoutMs,
      batches: metrics.telemetryBatchesTotal,
      dropped: metrics.telemetryDroppedTotal,
    });
  }

  /** The proxy's per-connection hook: synchronous, no I/O. */
  readonly onAccess = (record: TelemetryAccess): void => {
    this.#table.add(record);
    this.#lastAccess.observe(record);
  };

  /** Opens the spool and starts reporting; spooled batches from a previous run go first. */
  start(): Promise<void> {
    return this.#reporter.start();
  }

  /** Reports now instead of at the next interval. */
  flush(): Promise<void> {
    return this.#reporter.flush();
  }

  /** Reports one last time (spooling what cannot go) and releases its transport if it made one. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#reporter.close();
      await this.#poster.close();
    })();
    return this.#closing;
  }
}

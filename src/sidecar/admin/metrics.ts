import { collectProcessMetrics } from '../../shared/process-metrics.ts';
import { Counter, Gauge, Registry } from '../../shared/prom-client-parts.ts';
import { DurationHistogram } from './duration-histogram.ts';
import { PortCounts } from './port-counts.ts';
import { ScrapeHooks } from './scrape-hooks.ts';

/**
 * Every sidecar metric, registered on one Registry made at start and passed in, so each test
 * has its own. Metric names are public surface (a test lists them). No label ever holds an
 * origin address; identity labels are bounded by the telemetry series cap.
 *
 * The per-connection metrics (connections, open connections, bytes, durations, last access)
 * are deferred: the data path keeps plain numbers (`portCounts(port)`, the last-access
 * table) and `beforeScrape` writes them into the series when they are read.
 *
 * The process defaults (`process_*`, `nodejs_*`) are registered by `registerProcessMetrics`,
 * which the admin endpoint calls before each scrape: nothing reads them before the first one,
 * and loading them (with OpenTelemetry's API) is a tenth of a fresh sidecar's resident size.
 */
export function createSidecarMetrics(registry: Registry = new Registry(), { processDefaults = true } = {}) {
  let processMetricsRegistered = !processDefaults;
  /** Registers the process defaults on the first call; the later ones do nothing. */
  const registerProcessMetrics = (): void => {
    if (processMetricsRegistered) return;
    processMetricsRegistered = true;
    collectProcessMetrics(registry);
  };
  const registers = [registry];
  const beforeScrape = new ScrapeHooks();
  const collect = beforeScrape.run;
  const ports = new Map<string, PortCounts>();
  const metrics = {
    registry,
    beforeScrape,
    connectionsTotal: new Counter({
      name: 'portwarden_connections_total',
      help: 'Connections decided, by port, decision and deny reason (empty when allowed).',
      labelNames: ['port', 'decision', 'reason'] as const,
      registers,
      collect,
    }),
    connectionsActive: new Gauge({
      name: 'portwarden_connections_active',
      help: 'Connections currently open through the port.',
      labelNames: ['port'] as const,
      registers,
      collect,
    }),
    connectionsClosedTotal: new Counter({
      name: 'portwarden_connections_closed_total',
      help: 'Open connections closed by portwarden, by reason (revoked, expired, idle_timeout, shutdown, upstream_error, ...).',
      labelNames: ['port', 'reason'] as const,
      registers,
    }),
    handshakeFailuresTotal: new Counter({
      name: 'portwarden_handshake_failures_total',
      help: 'Connections closed before a decision: TLS or PROXY header failures.',
      labelNames: ['port', 'failure'] as const,
      registers,
    }),
    upstreamErrorsTotal: new Counter({
      name: 'portwarden_upstream_errors_total',
      help: 'Upstream connects that failed or timed out, by error code.',
      labelNames: ['port', 'code'] as const,
      registers,
    }),
    bytesTotal: new Counter({
      name: 'portwarden_bytes_total',
      help: 'Bytes forwarded: in = caller to upstream, out = upstream to caller.',
      labelNames: ['port', 'direction'] as const,
      registers,
      collect,
    }),
    connectionDuration: new DurationHistogram({
      name: 'portwarden_connection_duration_seconds',
      help: 'Duration of forwarded connections.',
      buckets: [0.005, 0.05, 0.5, 1, 5, 30, 120, 600, 3600],
      registers,
    }),
    licenseExpiry: new Gauge({
      name: 'portwarden_license_expiry_timestamp_seconds',
      help: 'When the license in force on the port expires (exp claim).',
      labelNames: ['port'] as const,
      registers,
    }),
    licenseValid: new Gauge({
      name: 'portwarden_license_valid',
      help: '1 when the port holds a license that admits connections now, else 0.',
      labelNames: ['port'] as const,
      registers,
    }),
    licenseHealth: new Gauge({
      name: 'portwarden_license_health',
      help: 'Per-port license health: 1 on the series of the current state (ok, degraded, expired, missing).',
      labelNames: ['port', 'state'] as const,
      registers,
    }),
    licenseRejectedTotal: new Counter({
      name: 'portwarden_license_rejected_total',
      help: 'License tokens refused on arrival, by reason (signature, alg, typ, iss, aud, exp, nbf, kid, sub, port, cache_corrupt, ...).',
      labelNames: ['reason'] as const,
      registers,
    }),
    authoritySyncTotal: new Counter({
      name: 'portwarden_authority_sync_total',
      help: 'Sync rounds with the authority, by result (changed, unchanged, error).',
      labelNames: ['result'] as const,
      registers,
    }),
    authorityLastSync: new Gauge({
      name: 'portwarden_authority_last_sync_timestamp_seconds',
      help: 'When the last successful sync with the authority completed.',
      registers,
    }),
    lastAccess: new Gauge({
      name: 'portwarden_last_access_timestamp_seconds',
      help: 'Last admitted access per port and identity; identities beyond the cap are summed under "_other".',
      labelNames: ['port', 'identity'] as const,
      registers,
      collect,
    }),
    telemetryDroppedTotal: new Counter({
      name: 'portwarden_telemetry_dropped_total',
      help: 'Access records lost before the authority acknowledged them, by reason (evicted, spool_full, spool_corrupt, spool_error, rejected, out_of_window).',
      labelNames: ['reason'] as const,
      registers,
    }),
    telemetryBatchesTotal: new Counter({
      name: 'portwarden_telemetry_batches_total',
      help: 'Telemetry batch deliveries to the authority, by result (acked, failed, rejected); failed ones are retried.',
      labelNames: ['result'] as const,
      registers,
    }),
    telemetrySpoolBytes: new Gauge({
      name: 'portwarden_telemetry_spool_bytes',
      help: 'Bytes of telemetry batches waiting on disk for the authority.',
      registers,
    }),
    unregisteredListeners: new Gauge({
      name: 'portwarden_unregistered_listeners',
      help: 'Listening sockets here that are neither registered nor fronted by a sidecar (the authority\'s answer; a local estimate until it answers).',
      registers,
    }),
    configReloadsTotal: new Counter({
      name: 'portwarden_config_reloads_total',
      help: 'Configuration reloads, by result (applied, refused).',
      labelNames: ['result'] as const,
      registers,
    }),
    acceptErrorsTotal: new Counter({
      name: 'portwarden_accept_errors_total',
      help: 'Errors accepting connections (EMFILE, ENFILE, ...), by code; accepting backs off meanwhile.',
      labelNames: ['port', 'code'] as const,
      registers,
    }),
    followListenFailuresTotal: new Counter({
      name: 'portwarden_follow_listen_failures_total',
      help: 'Transition numbers the sidecar could not listen on (follow_transitions), by code (EADDRINUSE, EACCES, reserved, ...).',
      labelNames: ['port', 'code'] as const,
      registers,
    }),
    tlsCertExpiry: new Gauge({
      name: 'portwarden_tls_cert_expiry_timestamp_seconds',
      help: 'When the certificate the port presents expires (its notAfter), for ports with TLS material (mtls, outbound).',
      labelNames: ['port'] as const,
      registers,
    }),
    tlsReloadsTotal: new Counter({
      name: 'portwarden_tls_reloads_total',
      help: 'Re-reads of a port\'s TLS certificate, key and CA that found them changed, by result (applied; refused: the old material stays).',
      labelNames: ['port', 'result'] as const,
      registers,
    }),
    authorityTlsCertExpiry: new Gauge({
      name: 'portwarden_authority_tls_cert_expiry_timestamp_seconds',
      help: 'When the client certificate the sidecar presents to the authority (authority.cert) expires (its notAfter); absent without one.',
      registers,
    }),
    authorityTlsReloadsTotal: new Counter({
      name: 'portwarden_authority_tls_reloads_total',
      help: 'Re-reads of authority.ca, authority.cert and authority.key that found them changed, by result (applied: new requests use them; refused: the old ones stay).',
      labelNames: ['result'] as const,
      registers,
    }),
  };
  /** The port's plain-number figures, one set per port name however many listeners it has. */
  const portCounts = (port: string): PortCounts => {
    let counts = ports.get(port);
    if (counts === undefined) {
      counts = new PortCounts(port, {
        connectionsTotal: metrics.connectionsTotal,
        connectionsActive: metrics.connectionsActive,
        bytesTotal: metrics.bytesTotal,
        duration: metrics.connectionDuration.forPort(port),
      });
      ports.set(port, counts);
      beforeScrape.add(counts.fold);
    }
    return counts;
  };
  return { ...metrics, portCounts, registerProcessMetrics };
}

export type SidecarMetrics = ReturnType<typeof createSidecarMetrics>;

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { onTestFinished } from 'vitest';
import type { ManualClock } from '../../src/shared/clock.ts';
import type { SidecarConfig } from '../../src/shared/config/sidecar-schema.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { LicenseSync, type LicenseSyncOptions, type SyncPort } from '../../src/sidecar/licenses/sync.ts';
import { createSidecarMetrics, type SidecarMetrics } from '../../src/sidecar/admin/metrics.ts';
import type { FakeAuthority } from './fake-authority.ts';
import { tempDir } from './tmp.ts';

/** One parsed NDJSON log line. */
export type LogLine = { level: string; msg: string } & Record<string, unknown>;

/** Everything a license-sync test needs around one `LicenseSync`, shared across restarts of it. */
export interface SyncHarness {
  readonly clock: ManualClock;
  readonly dir: string;
  readonly tokenFile: string;
  readonly authority: SidecarConfig['authority'];
  readonly logs: LogLine[];
  readonly metrics: SidecarMetrics;
  /** Makes (and starts) a sidecar sync; closed when the test finishes. Call again to "restart" it. */
  start(overrides?: Partial<LicenseSyncOptions>): Promise<LicenseSync>;
  /** The value of a metric series, or undefined when the series does not exist. */
  metric(name: string, labels?: Record<string, string>): Promise<number | undefined>;
}

export const SERVICE = 'payments';
export const API_PORT: SyncPort = { name: 'api', listenPort: 8443 };

/**
 * A temp cache dir, a token file holding the fake's sidecar token for `payments`, a manual clock
 * shared with the fake, a log parsed line by line, and one metrics registry.
 */
export async function syncHarness(
  fake: FakeAuthority,
  clock: ManualClock,
  authority: Partial<SidecarConfig['authority']> = {},
): Promise<SyncHarness> {
  const dir = await tempDir('portwarden-sync-');
  const tokenFile = join(dir, 'sidecar.token');
  await writeFile(tokenFile, `${fake.sidecarToken(SERVICE)}\n`, { mode: 0o600 });
  const logs: LogLine[] = [];
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) } });
  const metrics = createSidecarMetrics(new Registry(), { processDefaults: false });
  const config: SidecarConfig['authority'] = {
    url: fake.url,
    issuer: fake.issuer,
    token_file: tokenFile,
    refresh: 600_000,
    cache_dir: join(dir, 'cache'),
    clock_tolerance: 0,
    ...authority,
  };
  return {
    clock,
    dir,
    tokenFile,
    authority: config,
    logs,
    metrics,
    async start(overrides = {}) {
      const sync = new LicenseSync({ service: SERVICE, authority: config, ports: [API_PORT], clock, logger, metrics, ...overrides });
      onTestFinished(() => sync.close());
      await sync.start();
      return sync;
    },
    async metric(name, labels = {}) {
      const found = await metrics.registry.getSingleMetric(name)?.get();
      const series = found?.values.find((value) => Object.entries(labels).every(([key, want]) => value.labels[key] === want));
      return series?.value;
    },
  };
}

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Counter, Gauge } from 'prom-client';
import { sidecarSchema, type SidecarConfig } from '../../../../src/shared/config/sidecar-schema.ts';
import { createLogger, type Logger } from '../../../../src/shared/logger.ts';
import type { TelemetryAccess } from '../../../../src/sidecar/telemetry/access.ts';

/** A closed, allowed connection that lasted no time; override what the test is about. */
export function access(overrides: Partial<TelemetryAccess> = {}): TelemetryAccess {
  return {
    time: Date.UTC(2026, 0, 1),
    port: 'api',
    identity: 'spiffe://corp/ns/billing/sa/api',
    originAddress: '10.1.2.3',
    decision: 'allow',
    reason: undefined,
    bytesIn: 100,
    bytesOut: 1_000,
    durationMs: 0,
    ...overrides,
  };
}

/** A logger whose NDJSON lines the test can read back. */
export function capturedLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(JSON.parse(line)) } });
  return { logger, lines };
}

/** The value of one labelled series, 0 when it does not exist yet. */
export async function valueOf(metric: Counter<string> | Gauge<string>, labels: Record<string, string> = {}): Promise<number> {
  const { values } = await metric.get();
  const match = values.find((value) => Object.entries(labels).every(([key, expected]) => value.labels[key] === expected));
  return match?.value ?? 0;
}

/** A parsed sidecar configuration reporting to `url`, with a token file and a spool in `dir`. */
export async function telemetryConfig(url: string, dir: string, telemetry: Record<string, unknown> = {}): Promise<SidecarConfig> {
  const tokenFile = join(dir, 'sidecar.token');
  await writeFile(tokenFile, 'pw_sidecar_token\n', { mode: 0o600 });
  return sidecarSchema.parse({
    service: 'payments',
    authority: { url, token_file: tokenFile, cache_dir: join(dir, 'cache') },
    // reports are driven by flush() in tests, not by the timer
    telemetry: { report_interval: '1h', spool_dir: join(dir, 'spool'), ...telemetry },
    ports: [{ name: 'api', listen: '127.0.0.1:0', upstream: '127.0.0.1:1' }],
  });
}

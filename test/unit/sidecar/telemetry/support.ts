import type { Counter, Gauge } from 'prom-client';
import { createLogger, type Logger } from '../../../../src/shared/logger.ts';
import type { TelemetryAccess } from '../../../../src/sidecar/telemetry/access-record.ts';

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

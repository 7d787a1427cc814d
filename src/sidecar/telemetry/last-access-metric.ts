import type { Gauge } from 'prom-client';
import { lastUse, type TelemetryAccess } from './access.ts';

/** The identity label of the series that holds every identity past the cap. */
export const otherIdentity = '_other';

export interface LastAccessMetricOptions {
  /** `portwarden_last_access_timestamp_seconds{port,identity}`. */
  gauge: Gauge<'port' | 'identity'>;
  /** `telemetry.max_identities`: the most (port, identity) series kept apart. */
  maxSeries: number;
}

/**
 * Keeps `portwarden_last_access_timestamp_seconds{port,identity}` bounded. The first
 * `maxSeries` (port, identity) pairs to be admitted keep a series of their own for the life of
 * the process; later ones share one `identity="_other"` series per port, which shows the latest
 * of their accesses. So the gauge never holds more than `maxSeries` plus one series per port,
 * however many identities call. Only admitted accesses count, and no label holds an address.
 */
export class LastAccessMetric {
  readonly #gauge: Gauge<'port' | 'identity'>;
  readonly #maxSeries: number;
  readonly #series = new Map<string, number>();
  readonly #other = new Map<string, number>();

  constructor({ gauge, maxSeries }: LastAccessMetricOptions) {
    this.#gauge = gauge;
    this.#maxSeries = maxSeries;
  }

  /** Records an access; denied ones and those without an identity are ignored. */
  observe(record: TelemetryAccess): void {
    if (record.decision !== 'allow' || record.identity === undefined) return;
    const seconds = lastUse(record) / 1000;
    const key = `${record.port}\n${record.identity}`;
    const seen = this.#series.get(key);
    if (seen !== undefined || this.#series.size < this.#maxSeries) {
      // a gauge of "last" must not go back when records close out of order
      if (seen !== undefined && seen >= seconds) return;
      this.#series.set(key, seconds);
      this.#gauge.set({ port: record.port, identity: record.identity }, seconds);
      return;
    }
    const other = this.#other.get(record.port);
    if (other !== undefined && other >= seconds) return;
    this.#other.set(record.port, seconds);
    this.#gauge.set({ port: record.port, identity: otherIdentity }, seconds);
  }

  /** (port, identity) pairs holding a series of their own. */
  get seriesCount(): number {
    return this.#series.size;
  }
}

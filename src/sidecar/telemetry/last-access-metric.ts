import type { Gauge } from 'prom-client';
import type { ScrapeHooks } from '../admin/scrape-hooks.ts';
import { lastUse, type TelemetryAccess } from './access.ts';

/** The identity label of the series that holds every identity past the cap. */
export const otherIdentity = '_other';

export interface LastAccessMetricOptions {
  /** `portwarden_last_access_timestamp_seconds{port,identity}`. */
  gauge: Gauge<'port' | 'identity'>;
  /** `telemetry.max_identities`: the most (port, identity) series kept apart. */
  maxSeries: number;
  /** Where the gauge is written before it is read (the metrics' `beforeScrape`). */
  beforeScrape: ScrapeHooks;
}

/** One series' latest access, and whether the gauge has it yet. */
interface SeriesState {
  readonly port: string;
  readonly identity: string;
  seconds: number;
  written: boolean;
}

/**
 * Keeps `portwarden_last_access_timestamp_seconds{port,identity}` bounded. The first
 * `maxSeries` (port, identity) pairs to be admitted keep a series of their own for the life of
 * the process; later ones share one `identity="_other"` series per port, which shows the latest
 * of their accesses. So the gauge never holds more than `maxSeries` plus one series per port,
 * however many identities call. Only admitted accesses count, and no label holds an address.
 *
 * An access only updates a plain number; the gauge is set at scrape, once per changed series.
 */
export class LastAccessMetric {
  readonly #gauge: Gauge<'port' | 'identity'>;
  readonly #maxSeries: number;
  readonly #series = new Map<string, SeriesState>();
  readonly #other = new Map<string, SeriesState>();
  #unwritten = false;

  constructor({ gauge, maxSeries, beforeScrape }: LastAccessMetricOptions) {
    this.#gauge = gauge;
    this.#maxSeries = maxSeries;
    beforeScrape.add(this.#write);
  }

  /** Records an access; denied ones and those without an identity are ignored. */
  observe(record: TelemetryAccess): void {
    if (record.decision !== 'allow' || record.identity === undefined) return;
    const seconds = lastUse(record) / 1000;
    const key = `${record.port}\n${record.identity}`;
    const seen = this.#series.get(key);
    if (seen !== undefined) {
      this.#advance(seen, seconds);
    } else if (this.#series.size < this.#maxSeries) {
      this.#series.set(key, { port: record.port, identity: record.identity, seconds, written: false });
      this.#unwritten = true;
    } else {
      const other = this.#other.get(record.port);
      if (other !== undefined) this.#advance(other, seconds);
      else {
        this.#other.set(record.port, { port: record.port, identity: otherIdentity, seconds, written: false });
        this.#unwritten = true;
      }
    }
  }

  /** (port, identity) pairs holding a series of their own. */
  get seriesCount(): number {
    return this.#series.size;
  }

  // a gauge of "last" must not go back when records close out of order
  #advance(state: SeriesState, seconds: number): void {
    if (state.seconds >= seconds) return;
    state.seconds = seconds;
    state.written = false;
    this.#unwritten = true;
  }

  readonly #write = (): void => {
    if (!this.#unwritten) return;
    this.#unwritten = false;
    for (const states of [this.#series, this.#other]) {
      for (const state of states.values()) {
        if (state.written) continue;
        state.written = true;
        this.#gauge.set({ port: state.port, identity: state.identity }, state.seconds);
      }
    }
  };
}

import type { Counter, Gauge } from '../../shared/prom-client-parts.ts';
import type { DurationBuckets } from './duration-histogram.ts';

type CounterChild = { inc(value?: number): void };

export interface PortCountsSeries {
  connectionsTotal: Counter<'port' | 'decision' | 'reason'>;
  connectionsActive: Gauge<'port'>;
  bytesTotal: Counter<'port' | 'direction'>;
  duration: DurationBuckets;
}

/**
 * One port's data-path figures as plain numbers: what the connection path adds to (admitted,
 * refused by reason, open now, bytes each way, durations), shared by every listener of the
 * port. `fold()` writes what accumulated since the last fold into the prom-client series,
 * before each scrape, so a connection pays additions, not label hashing.
 */
export class PortCounts {
  /** Admissions and refusals since the last fold. */
  allowed = 0;
  readonly denied = new Map<string, number>();
  /** Connections open now (an absolute figure). */
  active = 0;
  /** Bytes since the last fold. */
  bytesIn = 0;
  bytesOut = 0;
  readonly duration: DurationBuckets;
  readonly #port: string;
  readonly #series: PortCountsSeries;
  readonly #allowed: CounterChild;
  readonly #deniedSeries = new Map<string, CounterChild>();
  readonly #active: { set(value: number): void };
  readonly #bytesIn: CounterChild;
  readonly #bytesOut: CounterChild;

  constructor(port: string, series: PortCountsSeries) {
    this.#port = port;
    this.#series = series;
    this.duration = series.duration;
    // every series of the port exists from the start, at zero
    this.#allowed = series.connectionsTotal.labels(port, 'allow', '');
    this.#allowed.inc(0);
    this.#active = series.connectionsActive.labels(port);
    this.#active.set(0);
    this.#bytesIn = series.bytesTotal.labels(port, 'in');
    this.#bytesIn.inc(0);
    this.#bytesOut = series.bytesTotal.labels(port, 'out');
    this.#bytesOut.inc(0);
  }

  /** One refused connection, by reason. */
  deny(reason: string): void {
    this.denied.set(reason, (this.denied.get(reason) ?? 0) + 1);
  }

  /** Writes the figures into their series; idempotent until more accumulate. */
  readonly fold = (): void => {
    if (this.allowed > 0) {
      this.#allowed.inc(this.allowed);
      this.allowed = 0;
    }
    if (this.denied.size > 0) {
      for (const [reason, count] of this.denied) {
        let child = this.#deniedSeries.get(reason);
        if (child === undefined) {
          child = this.#series.connectionsTotal.labels(this.#port, 'deny', reason);
          this.#deniedSeries.set(reason, child);
        }
        child.inc(count);
      }
      this.denied.clear();
    }
    this.#active.set(this.active);
    if (this.bytesIn > 0) {
      this.#bytesIn.inc(this.bytesIn);
      this.bytesIn = 0;
    }
    if (this.bytesOut > 0) {
      this.#bytesOut.inc(this.bytesOut);
      this.bytesOut = 0;
    }
  };
}

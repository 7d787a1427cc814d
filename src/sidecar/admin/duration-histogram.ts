import type { Metric, Registry } from 'prom-client';

/** One port's connection durations: a count per bucket, the sum and the count, as plain numbers. */
export class DurationBuckets {
  readonly #bounds: readonly number[];
  /** Observations per bucket (not cumulative); the last is past the highest bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  /** Adds one duration: a short loop over the bounds, no label lookup. */
  observe(seconds: number): void {
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && seconds > (bounds[i] as number)) i += 1;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += seconds;
    this.count += 1;
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}

export interface DurationHistogramOptions {
  name: string;
  help: string;
  buckets: readonly number[];
  registers: Registry[];
}

type Sample = { value: number; labels: Record<string, string | number>; metricName: string; exemplar?: null };

/**
 * `portwarden_connection_duration_seconds{port}`: a histogram whose per-port buckets are plain
 * numbers the connection-close path adds to (`forPort(port).observe`), read out at scrape in
 * the exposition prom-client's own Histogram gives (`_bucket{le}` cumulative, `+Inf`, `_sum`,
 * `_count`). prom-client's `observe` validates and hashes the labels and looks the bucket up
 * by a stringified bound on every call; this is registered on the registry as any metric is.
 */
export class DurationHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly labelNames = ['port'] as const;
  readonly #bounds: readonly number[];
  readonly #ports = new Map<string, DurationBuckets>();

  constructor({ name, help, buckets, registers }: DurationHistogramOptions) {
    this.name = name;
    this.help = help;
    this.#bounds = Object.freeze([...buckets].sort((a, b) => a - b));
    // the registry reads a metric through name, help, type, aggregator and get()
    for (const registry of registers) registry.registerMetric(this as unknown as Metric);
  }

  /** The port's buckets; its series exists, at zero, from this call on. */
  forPort(port: string): DurationBuckets {
    let buckets = this.#ports.get(port);
    if (buckets === undefined) {
      buckets = new DurationBuckets(this.#bounds);
      this.#ports.set(port, buckets);
    }
    return buckets;
  }

  /** What the registry reads and formats, as prom-client's metrics answer it. */
  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Sample[] }> {
    const values: Sample[] = [];
    const bucketName = `${this.name}_bucket`;
    for (const [port, buckets] of this.#ports) {
      let cumulative = 0;
      this.#bounds.forEach((le, i) => {
        cumulative += buckets.counts[i] as number;
        values.push({ value: cumulative, labels: { le, port }, metricName: bucketName, exemplar: null });
      });
      values.push(
        { value: buckets.count, labels: { le: '+Inf', port }, metricName: bucketName, exemplar: null },
        { value: buckets.sum, labels: { port }, metricName: `${this.name}_sum` },
        { value: buckets.count, labels: { port }, metricName: `${this.name}_count` },
      );
    }
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  /** Zeroes every series (`registry.resetMetrics()`). */
  reset(): void {
    for (const buckets of this.#ports.values()) buckets.reset();
  }
}

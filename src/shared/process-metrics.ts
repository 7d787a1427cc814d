import type { Registry } from 'prom-client';
import { loadDefaultMetrics } from './prom-client-parts.ts';

/**
 * prom-client's process defaults name three gauges `*_total`, which Prometheus reserves for
 * counters, so `promtool check metrics` flags every scrape. The same figures are in the
 * per-type gauges beside them: `sum(nodejs_active_handles)` is the dropped total.
 */
export const droppedDefaultGauges = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'] as const;

/** Registers prom-client's process defaults (`process_*`, `nodejs_*`) without the gauges misnamed as counters. */
export function collectProcessMetrics(registry: Registry): void {
  loadDefaultMetrics()({ register: registry });
  for (const name of droppedDefaultGauges) registry.removeSingleMetric(name);
}

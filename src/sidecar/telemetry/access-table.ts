import { BoundedLru } from '../../shared/bounded-lru.ts';
import type { Counter } from 'prom-client';
import { unmapIPv4 } from '../../shared/cidr.ts';
import type { DenyReason } from '../proxy/decide.ts';
import { lastUse, type TelemetryAccess } from './access.ts';

/** Access records summed per (port, identity, origin address); what a batch reports. */
export interface AccessSummary {
  port: string;
  /** Null when the caller had no identity. */
  identity: string | null;
  /** The origin IP address, without the source port (which changes on every connection). */
  origin: string;
  count: number;
  bytesIn: number;
  bytesOut: number;
  /** Milliseconds since the epoch: the earliest accept and the latest close in the group. */
  firstAccess: number;
  lastAccess: number;
  /** Decision and reason of the latest access in the group. */
  decision: 'allow' | 'deny';
  reason: DenyReason | null;
}

export interface AccessTableOptions {
  /** The most groups held at once (`telemetry.max_entries`); the least recently used falls out. */
  maxEntries: number;
  /** `portwarden_telemetry_dropped_total`; evicted groups count their records under `evicted`. */
  dropped?: Counter<'reason'>;
}

/**
 * Sums access records in memory between reports. Bounded: when more than `maxEntries`
 * distinct (port, identity, origin) groups arrive within one report interval, the least
 * recently used group is evicted and its records are counted as dropped.
 */
export class AccessTable {
  readonly #cache: BoundedLru<string, AccessSummary>;

  constructor({ maxEntries, dropped }: AccessTableOptions) {
    // only an eviction is a loss; `drain` clears what it hands over
    this.#cache = new BoundedLru<string, AccessSummary>({
      max: maxEntries,
      onEvict: (summary) => dropped?.inc({ reason: 'evicted' }, summary.count),
    });
  }

  /** Adds one closed connection to its group. Runs on the connection-close path: no I/O. */
  add(record: TelemetryAccess): void {
    const origin = unmapIPv4(record.originAddress);
    const closed = lastUse(record);
    const identity = record.identity ?? null;
    // identities hold no whitespace and names no newline, so a newline cannot collide
    const key = `${record.port}\n${identity ?? ''}\n${origin}`;
    const reason = record.decision === 'deny' ? (record.reason ?? null) : null;
    const summary = this.#cache.get(key);
    if (summary === undefined) {
      this.#cache.set(key, {
        port: record.port,
        identity,
        origin,
        count: 1,
        bytesIn: record.bytesIn,
        bytesOut: record.bytesOut,
        firstAccess: record.time,
        lastAccess: closed,
        decision: record.decision,
        reason,
      });
      return;
    }
    summary.count += 1;
    summary.bytesIn += record.bytesIn;
    summary.bytesOut += record.bytesOut;
    summary.firstAccess = Math.min(summary.firstAccess, record.time);
    // long and short connections overlap, so close order is not time order; the latest wins
    if (closed >= summary.lastAccess) {
      summary.lastAccess = closed;
      summary.decision = record.decision;
      summary.reason = reason;
    }
  }

  /** Removes and returns every group, oldest use first. */
  drain(): AccessSummary[] {
    const summaries: AccessSummary[] = [];
    for (const summary of this.#cache.values()) summaries.push(summary);
    this.#cache.clear();
    return summaries;
  }

  /** Groups held now. */
  get size(): number {
    return this.#cache.size;
  }
}

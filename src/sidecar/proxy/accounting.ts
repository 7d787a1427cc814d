import { formatHostPort } from '../../shared/address.ts';
import { unmapIPv4 } from '../../shared/cidr.ts';
import type { Clock } from '../../shared/clock.ts';
import type { Logger } from '../../shared/logger.ts';
import type { AccessHook, AccessRecord } from './access-record.ts';
import { closedByProxy } from './access-record.ts';
import { AccessLog } from './access-log.ts';
import type { Connection } from './connection.ts';
import type { DenyReason } from './decide.ts';
import type { HandshakeFailure, Origin } from '../identity/identity.ts';
import type { SidecarMetrics } from '../admin/metrics.ts';
import type { PortCounts } from '../admin/port-counts.ts';

let connectionSeq = 0;

/** A process-unique connection number, as the `conn` field of access records. */
export function nextConnectionId(): number {
  return ++connectionSeq;
}

export interface PortAccountingOptions {
  port: string;
  metrics: SidecarMetrics;
  /** The port's child logger (`port` bound). */
  logger: Logger;
  clock: Clock;
  onAccess?: AccessHook | undefined;
}

/**
 * Everything a port tells about its connections: the data-path metrics and one access record
 * per connection (log line and hook). The metrics are plain numbers of the port's
 * `PortCounts`, written into their series at scrape; bytes are added at flushes, not per chunk.
 */
export class PortAccounting {
  readonly #port: string;
  readonly #metrics: SidecarMetrics;
  readonly #log: Logger;
  readonly #accessLog: AccessLog;
  readonly #clock: Clock;
  readonly #onAccess: AccessHook | undefined;
  readonly #counts: PortCounts;

  constructor({ port, metrics, logger, clock, onAccess }: PortAccountingOptions) {
    this.#port = port;
    this.#metrics = metrics;
    this.#log = logger;
    this.#accessLog = new AccessLog(logger);
    this.#clock = clock;
    this.#onAccess = onAccess;
    this.#counts = metrics.portCounts(port);
  }

  /** A connection was admitted and is now open. */
  admitted(): void {
    this.#counts.allowed += 1;
    this.#counts.active += 1;
  }

  /** A connection was refused: counted by reason and recorded. */
  denied(reason: DenyReason, identity: string | undefined, origin: Origin): void {
    this.#counts.deny(reason);
    this.#record({
      time: this.#clock.now(),
      conn: nextConnectionId(),
      port: this.#port,
      identity,
      origin: formatHostPort({ host: origin.address, port: origin.port }),
      originAddress: origin.address,
      decision: 'deny',
      reason,
      lid: undefined,
      bytesIn: 0,
      bytesOut: 0,
      durationMs: 0,
      closeReason: undefined,
    });
  }

  /**
   * The identity step closed the connection before any decision. Logged at info like every
   * refused connection, so an operator sees who failed and why (expired or unknown-CA
   * certificate, bad PROXY header) without turning on debug.
   */
  handshakeFailed(failure: HandshakeFailure, detail: string | undefined, origin: string | undefined): void {
    this.#metrics.handshakeFailuresTotal.inc({ port: this.#port, failure });
    this.#log.info({ failure, detail, origin: origin === undefined ? undefined : unmapIPv4(origin) }, 'handshake failed');
  }

  /** An admitted connection is over: bytes, duration, why it closed, and its record. */
  closed(conn: Connection): void {
    const counts = this.#counts;
    counts.active -= 1;
    this.flushBytes(conn);
    const durationMs = Math.max(0, this.#clock.now() - conn.startedAt);
    counts.duration.observe(durationMs / 1000);
    const closeReason = conn.closeReason;
    if (closedByProxy.has(closeReason)) this.#metrics.connectionsClosedTotal.inc({ port: this.#port, reason: closeReason });
    if (conn.upstreamErrorCode !== undefined) this.#metrics.upstreamErrorsTotal.inc({ port: this.#port, code: conn.upstreamErrorCode });
    this.#record({
      time: conn.startedAt,
      conn: conn.id,
      port: this.#port,
      identity: conn.identity,
      origin: formatHostPort({ host: conn.origin.address, port: conn.origin.port }),
      originAddress: conn.origin.address,
      decision: 'allow',
      reason: undefined,
      lid: conn.lid,
      bytesIn: conn.bytesIn,
      bytesOut: conn.bytesOut,
      durationMs,
      closeReason,
    });
  }

  /** Adds the bytes `conn` moved since the last flush to the port's byte counts. */
  flushBytes(conn: Connection): void {
    const counts = this.#counts;
    counts.bytesIn += conn.bytesIn - conn.countedIn;
    conn.countedIn = conn.bytesIn;
    counts.bytesOut += conn.bytesOut - conn.countedOut;
    conn.countedOut = conn.bytesOut;
  }

  /** Counts an accept failure. */
  acceptFailed(code: string): void {
    this.#metrics.acceptErrorsTotal.inc({ port: this.#port, code });
  }

  /** One log line per connection, and the hook. The log's own `time` is when the line is written. */
  #record(record: AccessRecord): void {
    this.#accessLog.write(record);
    if (this.#onAccess) {
      try {
        this.#onAccess(record);
      } catch (err) {
        this.#log.error({ err }, 'access hook failed');
      }
    }
  }
}

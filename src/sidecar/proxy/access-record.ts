import type { DenyReason } from './decide.ts';

/**
 * Why an admitted connection ended. `client` and `upstream` are orderly closes started by that
 * side; the `*_reset` values are abortive closes (RST) from that side; the rest are portwarden
 * closing the connection itself and are counted in `portwarden_connections_closed_total`.
 */
export type CloseReason =
  | 'client'
  | 'upstream'
  | 'client_reset'
  | 'upstream_reset'
  | 'upstream_error'
  | 'idle_timeout'
  | 'half_close_timeout'
  | 'revoked'
  | 'expired'
  | 'shutdown';

/** Close reasons where portwarden cut the connection, as `connections_closed_total{reason}` counts them. */
export const closedByProxy: ReadonlySet<CloseReason> = new Set<CloseReason>([
  'upstream_error',
  'idle_timeout',
  'half_close_timeout',
  'revoked',
  'expired',
  'shutdown',
]);

/**
 * One connection, told once when it is over (refused connections included). It goes to the
 * log and to the `onAccess` hook (telemetry). It never holds a token or other secret.
 */
export interface AccessRecord {
  /** When the connection was accepted, in milliseconds since the epoch (injected clock). */
  time: number;
  /** Process-unique connection number, as the `conn` field of the log lines. */
  conn: number;
  /** The port's configured name. */
  port: string;
  /** The caller's workload identity; undefined when none could be resolved. */
  identity: string | undefined;
  /** The caller's `ip:port` (`[v6]:port` for IPv6). */
  origin: string;
  /** The caller's address without the port, for grouping by origin. */
  originAddress: string;
  decision: 'allow' | 'deny';
  /** Set when `decision` is `deny`. */
  reason: DenyReason | undefined;
  /** The license (`lid`) that admitted the connection. */
  lid: string | undefined;
  /** Bytes from the caller to the upstream. */
  bytesIn: number;
  /** Bytes from the upstream to the caller. */
  bytesOut: number;
  durationMs: number;
  /** Why an admitted connection ended; undefined for refusals. */
  closeReason: CloseReason | undefined;
}

/** Receives every access record; must not throw and should return quickly (it runs on the data path). */
export type AccessHook = (record: AccessRecord) => void;

import type { DenyReason } from '../decide.ts';

/**
 * The fields telemetry reads of the proxy's access record (one per connection, refused ones
 * included, handed to the `onAccess` hook when the connection is over). Any record with
 * these fields fits, so the proxy's richer record is passed as is.
 */
export interface TelemetryAccess {
  /** When the connection was accepted, in milliseconds since the epoch (injected clock). */
  readonly time: number;
  /** The port's configured name (`ports[].name`), as metric labels and the license `sub` use it. */
  readonly port: string;
  /** The caller's workload identity; undefined when none was found (`no_identity`). */
  readonly identity: string | undefined;
  /** The caller's address without the source port (or what a trusted PROXY header named). */
  readonly originAddress: string;
  readonly decision: 'allow' | 'deny';
  /** The deny reason; undefined when allowed. */
  readonly reason: DenyReason | undefined;
  /** Bytes forwarded caller to upstream. */
  readonly bytesIn: number;
  /** Bytes forwarded upstream to caller. */
  readonly bytesOut: number;
  /** How long the connection was open; `time + durationMs` is its last access. */
  readonly durationMs: number;
}

/** The connection's last moment of use: when it closed. */
export function lastUse(access: TelemetryAccess): number {
  return access.time + access.durationMs;
}

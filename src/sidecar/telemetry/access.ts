import type { AccessRecord } from '../proxy/access-record.ts';

/**
 * The fields telemetry reads of the proxy's access record (one per connection, refused ones
 * included, handed to the `onAccess` hook when the connection is over). `time` is when the
 * connection was accepted; `originAddress` is the caller's address without the source port.
 */
export type TelemetryAccess = Pick<
  AccessRecord,
  'time' | 'port' | 'identity' | 'originAddress' | 'decision' | 'reason' | 'bytesIn' | 'bytesOut' | 'durationMs'
>;

/** The connection's last moment of use: when it closed. */
export function lastUse(access: TelemetryAccess): number {
  return access.time + access.durationMs;
}

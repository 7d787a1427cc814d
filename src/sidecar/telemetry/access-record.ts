import type { DenyReason } from '../decide.ts';
import type { Origin } from '../identity/identity.ts';

/**
 * What telemetry reads of one closed connection: the proxy hands one of these to `onAccess`
 * per connection, allowed or denied. This is the shape the telemetry pipeline needs; the
 * proxy's own record may carry more, and any object with these fields fits.
 */
export interface AccessRecord {
  /** When the connection closed, in milliseconds since the epoch (injected clock). */
  readonly time: number;
  /** The port's configured name (`ports[].name`), as metric labels and the license `sub` use it. */
  readonly port: string;
  /** The caller's workload identity; undefined when none was found (`no_identity`). */
  readonly identity: string | undefined;
  /** The caller's address and source port, or what a trusted PROXY header named. */
  readonly origin: Origin;
  readonly decision: 'allow' | 'deny';
  /** The deny reason; undefined when allowed. */
  readonly reason: DenyReason | undefined;
  /** Bytes forwarded caller to upstream. */
  readonly bytesIn: number;
  /** Bytes forwarded upstream to caller. */
  readonly bytesOut: number;
  readonly durationMs: number;
}

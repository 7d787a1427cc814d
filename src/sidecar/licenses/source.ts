import type { CachedLicense } from './license.ts';

/** A port's license health, as `/status`, `/readyz` and `portwarden_license_health` show it. */
export type LicenseHealth = 'ok' | 'degraded' | 'expired' | 'missing';

/** What changed for a port's license. */
export interface LicenseChange {
  portName: string;
  /**
   * The listen number (as configured; 0 for an ephemeral listener) whose license changed, for a
   * source that keeps one license per number. Absent: the port's one license, on every number.
   */
  listenPort?: number;
  previous: CachedLicense | undefined;
  current: CachedLicense | undefined;
}

/** What `/status` shows of a port's license. Times are ISO 8601. */
export interface PortLicenseStatus {
  health: LicenseHealth;
  /** Whether the license admits callers now (a `degraded` one may not: not valid yet); absent without a license. */
  admitting?: boolean;
  lid?: string;
  jti?: string;
  expiresAt?: string;
  /** Set while `expiry_grace` is admitting past `exp` because the authority is unreachable. */
  graceUntil?: string;
  /** Why the last token for this port was not applied (wrong `sub`, `port.number` mismatch, ...). */
  problem?: string;
}

/**
 * Where the proxy reads licenses from. `get` runs on every connection: it is synchronous and
 * touches no crypto, disk or network — tokens were verified when they arrived.
 *
 * A port may listen on several numbers (during a transition, the old and the new one); each
 * number has its own license, the one whose `port.number` is that number. `listenPort` is the
 * number as configured (0 for an ephemeral listener, which takes a license for any number);
 * without it, the port's first listen number.
 */
export interface LicenseSource {
  get(portName: string, listenPort?: number): CachedLicense | undefined;
  /** False while the authority cannot be reached; `expiry_grace` applies only then. */
  readonly authorityReachable: boolean;
  /** Called after a port's license is replaced, revoked or removed. Returns an unsubscribe. */
  onChange(listener: (change: LicenseChange) => void): () => void;
  /**
   * Called with the lids the authority has just revoked, whichever license holds their port now:
   * a replacement may have taken a revoked license's place first (issue the new one, then revoke
   * the old), and the connections the revoked one admitted still get `on_revoke`. The one way
   * a revocation reaches the proxy. Returns an unsubscribe.
   */
  onRevoke(listener: (lids: ReadonlySet<string>) => void): () => void;
  /**
   * The latest token of license `lid`, whether or not it is the one in force on its number (a
   * renewal that lost the number to a license expiring later still extends the connections the
   * lid admitted), with `revoked` set once the lid is. For the periodic pass over open
   * connections; undefined for a lid the source does not know.
   */
  byLid?(lid: string): CachedLicense | undefined;
  /**
   * The port's license health for `/status` and `/readyz`; with `listenPort`, that number's. A
   * port listening on several numbers reports the number that serves best (see `bestOf`).
   */
  status(portName: string, listenPort?: number): PortLicenseStatus;
}

/**
 * The source as one listener sees it: `get(portName)` answers for the number the listener is
 * bound to, so a listener asks as it always did and each number is decided on its own license.
 */
export function licensesForListen(source: LicenseSource, listenPort: number): LicenseSource {
  return {
    get: (portName) => source.get(portName, listenPort),
    get authorityReachable() {
      return source.authorityReachable;
    },
    onChange: (listener) => source.onChange(listener),
    onRevoke: (listener) => source.onRevoke(listener),
    byLid: (lid) => source.byLid?.(lid),
    status: (portName) => source.status(portName, listenPort),
  };
}

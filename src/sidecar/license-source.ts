import type { CachedLicense } from './license.ts';

/** A port's license health, as `/status`, `/readyz` and `portwarden_license_health` show it. */
export type LicenseHealth = 'ok' | 'degraded' | 'expired' | 'missing';

/** What changed for a port's license. */
export interface LicenseChange {
  portName: string;
  previous: CachedLicense | undefined;
  current: CachedLicense | undefined;
}

/** What `/status` shows of a port's license. Times are ISO 8601. */
export interface PortLicenseStatus {
  health: LicenseHealth;
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
 */
export interface LicenseSource {
  get(portName: string): CachedLicense | undefined;
  /** False while the authority cannot be reached; `expiry_grace` applies only then. */
  readonly authorityReachable: boolean;
  /** Called after a port's license is replaced, revoked or removed. Returns an unsubscribe. */
  onChange(listener: (change: LicenseChange) => void): () => void;
  /** The port's license health for `/status` and `/readyz`. */
  status(portName: string): PortLicenseStatus;
}

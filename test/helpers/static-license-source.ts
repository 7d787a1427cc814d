import { systemClock, type Clock } from '../../src/shared/clock.ts';
import { toCachedLicense, type CachedLicense } from '../../src/sidecar/licenses/license.ts';
import { assessLicense } from '../../src/sidecar/licenses/health.ts';
import type { LicenseChange, PortLicenseStatus } from '../../src/sidecar/licenses/source.ts';
import type { SidecarLicenseSource } from '../../src/sidecar/sidecar.ts';

export interface TestLicenseOptions {
  port: string;
  service?: string;
  /** Caller identities (default: the loopback test identity). */
  allow?: string[];
  lid?: string;
  /** Lifetime from now (default 1h); negative for a license that expired already. */
  ttlMs?: number;
  /** `nbf` relative to now (default 0). */
  nbfOffsetMs?: number;
  clock?: Clock;
}

/** The identity the test configs give 127.0.0.0/8. */
export const LOCAL_IDENTITY = 'spiffe://test.local/ns/default/sa/client';

let lidSeq = 0;

/** A verified, cached license as the sync would hold it; no signing involved. */
export function testLicense(options: TestLicenseOptions): CachedLicense {
  const now = Math.floor((options.clock ?? systemClock).now() / 1000);
  const nbf = now + Math.floor((options.nbfOffsetMs ?? 0) / 1000);
  return toCachedLicense('test-token-never-logged', {
    iss: 'portwarden-authority',
    sub: `${options.service ?? 'payments'}/${options.port}`,
    aud: 'portwarden-sidecar',
    jti: `jti-${++lidSeq}`,
    lid: options.lid ?? `lid-${lidSeq}`,
    iat: now,
    nbf,
    exp: now + Math.floor((options.ttlMs ?? 3_600_000) / 1000),
    port: { number: 0, protocol: 'tcp' },
    allow: options.allow ?? [LOCAL_IDENTITY],
  });
}

/** A LicenseSource whose licenses the test sets directly; health follows the real rules. */
export class StaticLicenseSource implements SidecarLicenseSource {
  authorityReachable = true;
  lastSyncAt: number | undefined;
  readonly #clock: Clock;
  readonly #licenses = new Map<string, CachedLicense>();
  readonly #listeners = new Set<(change: LicenseChange) => void>();
  readonly #revokeListeners = new Set<(lids: ReadonlySet<string>) => void>();

  constructor(clock: Clock = systemClock) {
    this.#clock = clock;
  }

  get(portName: string): CachedLicense | undefined {
    return this.#licenses.get(portName);
  }

  /** Puts `license` in force on `portName` (undefined removes it) and tells the listeners. */
  set(portName: string, license: CachedLicense | undefined): void {
    const previous = this.#licenses.get(portName);
    if (license) this.#licenses.set(portName, license);
    else this.#licenses.delete(portName);
    for (const listener of this.#listeners) listener({ portName, previous, current: license });
  }

  /** Marks the port's license revoked and announces its `lid`, as the sync does when the authority lists it. */
  revoke(portName: string): void {
    const license = this.#licenses.get(portName);
    if (!license) return;
    this.set(portName, toCachedLicense(license.token, license.claims, true));
    const lids = new Set([license.claims.lid]);
    for (const listener of this.#revokeListeners) listener(lids);
  }

  onRevoke(listener: (lids: ReadonlySet<string>) => void): () => void {
    this.#revokeListeners.add(listener);
    return () => this.#revokeListeners.delete(listener);
  }

  onChange(listener: (change: LicenseChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  status(portName: string): PortLicenseStatus {
    return assessLicense(this.#licenses.get(portName), {
      now: this.#clock.now(),
      authorityReachable: this.authorityReachable,
      expiryGraceMs: 0,
      clockToleranceMs: 0,
    }).status;
  }
}

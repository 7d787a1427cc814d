import type { CachedLicense } from './license.ts';
import type { LicenseHealth, PortLicenseStatus } from './license-source.ts';
import type { SidecarMetrics } from './metrics.ts';

/**
 * A license is `degraded` once less than this share of its lifetime (`exp - nbf`) remains and no
 * renewal replaced it. With the authority's defaults (ttl 24h, renew_before 6h, i.e. renewal in
 * the last 25%) this means a renewal is more than an hour overdue, so a renewal on time never
 * flaps the health, while a lapse shows long before `exp`.
 */
export const RENEW_WINDOW_FRACTION = 0.2;

export const healthStates: readonly LicenseHealth[] = ['ok', 'degraded', 'expired', 'missing'];

export interface HealthContext {
  now: number;
  authorityReachable: boolean;
  /** The port's `expiry_grace`. */
  expiryGraceMs: number;
  clockToleranceMs: number;
}

export interface LicenseAssessment {
  status: PortLicenseStatus;
  /** True when the license admits callers now (what `portwarden_license_valid` shows). */
  valid: boolean;
}

/**
 * A port's license health, by the same rules as `decide`:
 * `missing` — no license, or the one in force was revoked;
 * `expired` — past `exp`, and past `exp + expiry_grace` or the authority is reachable;
 * `degraded` — admitting, but the authority is unreachable (with `graceUntil` while grace admits),
 *   or the license is inside its renew window, or it is not valid yet;
 * `ok` — otherwise.
 */
export function assessLicense(license: CachedLicense | undefined, ctx: HealthContext): LicenseAssessment {
  if (license === undefined) return { status: { health: 'missing' }, valid: false };
  const base: PortLicenseStatus = {
    health: 'ok',
    lid: license.claims.lid,
    jti: license.claims.jti,
    expiresAt: new Date(license.expMs).toISOString(),
  };
  if (license.revoked) return { status: { ...base, health: 'missing', problem: `license ${license.claims.lid} was revoked` }, valid: false };
  if (ctx.now >= license.expMs) {
    const graceEnds = license.expMs + ctx.expiryGraceMs;
    if (!ctx.authorityReachable && ctx.now < graceEnds) {
      return {
        status: { ...base, health: 'degraded', graceUntil: new Date(graceEnds).toISOString(), problem: 'expired; admitting within expiry_grace while the authority is unreachable' },
        valid: true,
      };
    }
    return { status: { ...base, health: 'expired', problem: 'expired and not renewed' }, valid: false };
  }
  if (ctx.now < license.nbfMs - ctx.clockToleranceMs) {
    return { status: { ...base, health: 'degraded', problem: `not valid before ${new Date(license.nbfMs).toISOString()}` }, valid: false };
  }
  if (!ctx.authorityReachable) return { status: { ...base, health: 'degraded', problem: 'authority unreachable; admitting on the cached license' }, valid: true };
  const lifetime = license.expMs - license.nbfMs;
  if (license.expMs - ctx.now < lifetime * RENEW_WINDOW_FRACTION) {
    return { status: { ...base, health: 'degraded', problem: 'inside the renew window and not renewed yet' }, valid: true };
  }
  return { status: base, valid: true };
}

/** Sets the port's license gauges: expiry timestamp, valid 0/1, and 1 on the current health series. */
export function reportLicenseMetrics(
  metrics: Pick<SidecarMetrics, 'licenseExpiry' | 'licenseValid' | 'licenseHealth'>,
  port: string,
  license: CachedLicense | undefined,
  assessment: LicenseAssessment,
): void {
  if (license === undefined) metrics.licenseExpiry.remove({ port });
  else metrics.licenseExpiry.set({ port }, license.expMs / 1000);
  metrics.licenseValid.set({ port }, assessment.valid ? 1 : 0);
  for (const state of healthStates) metrics.licenseHealth.set({ port, state }, state === assessment.status.health ? 1 : 0);
}

/** Removes a port's license series (the port left the configuration). */
export function forgetLicenseMetrics(metrics: Pick<SidecarMetrics, 'licenseExpiry' | 'licenseValid' | 'licenseHealth'>, port: string): void {
  metrics.licenseExpiry.remove({ port });
  metrics.licenseValid.remove({ port });
  for (const state of healthStates) metrics.licenseHealth.remove({ port, state });
}

import type { CachedLicense } from './license.ts';
import type { LicenseHealth, PortLicenseStatus } from './source.ts';
import type { SidecarMetrics } from '../admin/metrics.ts';

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
  const assessment = assess(license, ctx);
  if (license === undefined) return assessment;
  return { ...assessment, status: { ...assessment.status, admitting: assessment.valid } };
}

function assess(license: CachedLicense | undefined, ctx: HealthContext): LicenseAssessment {
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

/** One listen number's license and how it stands. */
export interface NumberAssessment {
  listenPort: number;
  license: CachedLicense | undefined;
  assessment: LicenseAssessment;
}

const healthRank: Record<LicenseHealth, number> = { ok: 0, degraded: 1, expired: 2, missing: 3 };

/**
 * The number a port that listens on several is judged by (`/readyz`, the port's `/status`
 * license, the `portwarden_license_*{port}` series): the one that serves best — one that admits
 * before one that does not, then by health, then the later `exp`. So the port is ready while
 * any of its numbers admits, and its expiry series says when it stops admitting altogether.
 *
 * Not the worst number: at the end of a transition the old number's license is revoked by
 * design while the new one serves; judged by the worst, the pod would turn unready (a Service
 * would stop sending it traffic, on the new number too) until the configuration drops the old
 * number. Each number's own license is in `/status`, and callers refused on a number show in
 * `portwarden_connections_total{reason}`.
 */
export function bestOf(numbers: readonly [NumberAssessment, ...NumberAssessment[]]): NumberAssessment {
  return numbers.reduce((best, candidate) => (serves(candidate, best) ? candidate : best));
}

function serves(a: NumberAssessment, b: NumberAssessment): boolean {
  if (a.assessment.valid !== b.assessment.valid) return a.assessment.valid;
  const rankA = healthRank[a.assessment.status.health];
  const rankB = healthRank[b.assessment.status.health];
  if (rankA !== rankB) return rankA < rankB;
  return (a.license?.expMs ?? -Infinity) > (b.license?.expMs ?? -Infinity);
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

import { isIdentityAllowed, type CachedLicense } from '../licenses/license.ts';

/** Why a connection was refused; a closed union, counted and logged as data. */
export const denyReasons = [
  'no_license',
  'not_yet_valid',
  'expired',
  'revoked',
  'identity_not_allowed',
  'no_identity',
  'max_connections',
] as const;
export type DenyReason = (typeof denyReasons)[number];

export type Decision = { readonly allow: true } | { readonly allow: false; readonly reason: DenyReason };

export const allowDecision: Decision = Object.freeze({ allow: true });
const denials = Object.fromEntries(denyReasons.map((reason) => [reason, Object.freeze({ allow: false, reason })])) as Record<
  DenyReason,
  Decision
>;

/** The decision's inputs beside the license and the caller. */
export interface DecisionContext {
  /** Milliseconds since the epoch, from the injected clock. */
  now: number;
  /** Skew allowed on `nbf`, so a token minted a moment ago by a slightly faster clock is admitted. */
  clockToleranceMs: number;
  /** The port's `expiry_grace`; applies only while the authority is unreachable. */
  expiryGraceMs: number;
  authorityReachable: boolean;
}

/**
 * The allow/deny decision: a pure function of (cached, verified license; caller identity; now).
 * No crypto, no disk, no network. Revocation wins over everything, grace never outlives it.
 */
export function decide(license: CachedLicense | undefined, identity: string | undefined, ctx: DecisionContext): Decision {
  if (license === undefined) return denials.no_license;
  if (license.revoked) return denials.revoked;
  if (ctx.now < license.nbfMs - ctx.clockToleranceMs) return denials.not_yet_valid;
  if (ctx.now >= license.expMs) {
    const graceEnds = license.expMs + (ctx.authorityReachable ? 0 : ctx.expiryGraceMs);
    if (ctx.now >= graceEnds) return denials.expired;
  }
  if (identity === undefined) return denials.no_identity;
  return isIdentityAllowed(license, identity) ? allowDecision : denials.identity_not_allowed;
}

/** The frozen deny decision for `reason`, for refusals made before `decide` runs (e.g. max_connections). */
export function denial(reason: DenyReason): Decision {
  return denials[reason];
}

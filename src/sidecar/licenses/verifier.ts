// jose's entry points, not its index: the sidecar loads only what verifies a license
import type { JWTVerifyGetKey } from 'jose';
import { decodeProtectedHeader } from 'jose/decode/protected_header';
import { decodeJwt } from 'jose/jwt/decode';
import { jwtVerify } from 'jose/jwt/verify';
import { z } from 'zod';
import type { Clock } from '../../shared/clock.ts';
import { toCachedLicense, type CachedLicense, type LicenseClaims } from './license.ts';

/** Why a license token was refused on arrival; the `reason` label of `portwarden_license_rejected_total`. */
export const rejectReasons = ['signature', 'alg', 'typ', 'iss', 'aud', 'exp', 'nbf', 'kid', 'claims', 'sub', 'port', 'malformed'] as const;
export type RejectReason = (typeof rejectReasons)[number];

/** The `typ` header every license carries. */
export const LICENSE_TYP = 'portwarden-license+jwt';
/** The `aud` every license is minted for. */
export const LICENSE_AUDIENCE = 'portwarden-sidecar';
/** Skew beyond this is a broken clock, not skew: the configured tolerance is capped here. */
export const MAX_CLOCK_TOLERANCE_MS = 5 * 60_000;

const requiredClaims = ['iss', 'sub', 'aud', 'jti', 'lid', 'iat', 'nbf', 'exp', 'port', 'allow'];

// jose checks the registered claims; these are ours
const customClaims = z.object({
  jti: z.string().min(1),
  lid: z.string().min(1),
  iat: z.number(),
  port: z.object({ number: z.number().int().min(0).max(65_535), protocol: z.enum(['tcp', 'udp']) }),
  allow: z.array(z.string().min(1)),
  env: z.string().optional(),
});

/** What a token must match besides its signature: this sidecar's service and its ports. */
export interface VerifyTarget {
  service: string;
  /** Port name -> its listen number(s); 0 means "any number" (an ephemeral listener, as in tests). */
  ports: ReadonlyMap<string, number | readonly number[]>;
  /**
   * Ports that follow transitions (`follow_transitions`, one configured number): a license for
   * another number of theirs is accepted for that number, which the sidecar then listens on.
   */
  follows?: ReadonlySet<string>;
  issuer: string;
  clockToleranceMs: number;
}

export type Verdict =
  | {
      readonly ok: true;
      readonly portName: string;
      /** The listen number (as configured) the license is for: its `port.number`, or 0 for an ephemeral listener. */
      readonly listenPort: number;
      readonly license: CachedLicense;
    }
  | {
      readonly ok: false;
      readonly reason: RejectReason;
      readonly detail: string;
      /** The configured port the token meant, when it names one (its `problem` shows the refusal). */
      readonly portName?: string;
    };

/** This service's token for a port name that is not configured: not an error, just not ours to apply (yet). */
export interface Unconfigured {
  readonly ok: false;
  readonly unconfigured: true;
  readonly portName: string;
}

/**
 * Verifies a license token once, on arrival: EdDSA only, `typ`, `iss`, `aud`, `nbf`/`exp` with the
 * bounded tolerance at the injected clock's time, the required claims, then that `sub` names one
 * of this service's configured ports and `port.number` is one of that port's listen numbers.
 *
 * `allowExpired` is for last-known-good tokens reloaded at start: their signature and claims are
 * checked, but one past `exp` still loads so the decision says `expired` (or applies grace)
 * instead of `no_license`.
 */
export async function verifyLicense(
  token: string,
  keys: JWTVerifyGetKey,
  target: VerifyTarget,
  clock: Clock,
  { allowExpired = false } = {},
): Promise<Verdict | Unconfigured> {
  const toleranceS = Math.floor(Math.min(Math.max(target.clockToleranceMs, 0), MAX_CLOCK_TOLERANCE_MS) / 1000);
  let hintedPort: string | undefined;
  let currentDate = new Date(clock.now());
  try {
    const header = decodeProtectedHeader(token);
    const peek = decodeJwt(token);
    hintedPort = portOfSub(peek.sub, target);
    if (header.alg !== 'EdDSA') return refuse('alg', `alg "${String(header.alg)}" is not EdDSA`, hintedPort);
    // a license without `kid` would match any key in a rotated set; refuse it by name
    if (typeof header.kid !== 'string' || header.kid === '') return refuse('kid', 'token header has no kid', hintedPort);
    if (allowExpired && typeof peek.exp === 'number' && peek.exp * 1000 <= clock.now()) {
      currentDate = new Date((peek.exp - 1) * 1000);
    }
  } catch (err) {
    return refuse('malformed', errorDetail(err));
  }

  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, keys, {
      algorithms: ['EdDSA'],
      typ: LICENSE_TYP,
      issuer: target.issuer,
      audience: LICENSE_AUDIENCE,
      requiredClaims,
      clockTolerance: toleranceS,
      currentDate,
    }));
  } catch (err) {
    return refuse(reasonOfJoseError(err), errorDetail(err), hintedPort);
  }

  const parsed = customClaims.safeParse(payload);
  if (!parsed.success) return refuse('claims', `claims do not match the license contract: ${parsed.error.issues[0]?.message ?? ''}`, hintedPort);
  const claims = payload as unknown as LicenseClaims;

  const [service, portName, ...rest] = String(claims.sub).split('/');
  if (service !== target.service || portName === undefined || portName === '' || rest.length > 0) {
    return refuse('sub', `sub "${claims.sub}" is not a port of service "${target.service}"`, hintedPort);
  }
  const listens = target.ports.get(portName);
  if (listens === undefined) return { ok: false, unconfigured: true, portName };
  // a port that follows transitions takes a license for another number: that number is listened on while it lasts
  const listenPort = listenPortFor(claims.port.number, listens) ?? (target.follows?.has(portName) && claims.port.number > 0 ? claims.port.number : undefined);
  if (listenPort === undefined) {
    return refuse('port', `license is for port number ${claims.port.number}, the port listens on ${formatNumbers(listens)}`, portName);
  }
  return { ok: true, portName, listenPort, license: toCachedLicense(token, claims) };
}

/**
 * The listen number a license for `number` serves: that number when the port listens on it,
 * else 0 when the port has an ephemeral listener (which takes any number), else none.
 */
export function listenPortFor(number: number, listens: number | readonly number[]): number | undefined {
  const numbers = typeof listens === 'number' ? [listens] : listens;
  if (numbers.includes(number)) return number;
  return numbers.includes(0) ? 0 : undefined;
}

function formatNumbers(listens: number | readonly number[]): string {
  const numbers = typeof listens === 'number' ? [listens] : listens;
  return numbers.length === 1 ? String(numbers[0]) : `${numbers.slice(0, -1).join(', ')} and ${String(numbers.at(-1))}`;
}

/** Maps a jose error to the closed set of reject reasons (by `code` and the failed `claim`). */
export function reasonOfJoseError(err: unknown): RejectReason {
  const { code, claim, reason } = (err ?? {}) as { code?: string; claim?: string; reason?: string };
  switch (code) {
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return 'alg';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'signature';
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return 'kid';
    case 'ERR_JWT_EXPIRED':
      return 'exp';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      // a claim that is missing or not the right type breaks the contract; a mismatch names the claim
      if (reason === 'missing' || reason === 'invalid') return 'claims';
      if (claim === 'typ' || claim === 'iss' || claim === 'aud' || claim === 'nbf') return claim;
      return 'claims';
    default:
      return 'malformed';
  }
}

function portOfSub(sub: unknown, target: VerifyTarget): string | undefined {
  if (typeof sub !== 'string') return undefined;
  const portName = sub.slice(sub.indexOf('/') + 1);
  return target.ports.has(portName) ? portName : undefined;
}

function refuse(reason: RejectReason, detail: string, portName?: string): Verdict {
  return portName === undefined ? { ok: false, reason, detail } : { ok: false, reason, detail, portName };
}

function errorDetail(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

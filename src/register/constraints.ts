import { PortwardenError } from '../shared/errors.ts';
import { formatNumber, indexUses, samePort, slotKey, type NumberUse, type PortKey, type UseIndex } from './number-use.ts';
import { admittingRanges, describeRange, formatSpan, reservedSpan, type NamedRange, type PortSpan, type RegisterPolicy } from './policy.ts';

/** The rules that may refuse a number, in the order they are applied. */
export const constraintRules = ['reserved', 'out_of_range', 'taken', 'cooldown'] as const;
export type ConstraintRule = (typeof constraintRules)[number];

/** A number asked for by (or proposed to) a port. */
export interface NumberRequest extends PortKey {
  number: number;
}

/** Why a number was refused: the rule, a message naming it, and the rule's particulars. */
export type ConstraintRefusal =
  | { ok: false; rule: 'reserved'; message: string; reserved: PortSpan }
  | { ok: false; rule: 'out_of_range'; message: string; ranges: string[] }
  | { ok: false; rule: 'taken'; message: string; by: PortKey }
  | { ok: false; rule: 'cooldown'; message: string; by: PortKey; releasedAt: number; freeAt: number };

/** `ok` with the range that admits the number, or the refusal. */
export type ConstraintResult = { ok: true; range: string } | ConstraintRefusal;

/**
 * The register's constraints over one view of its numbers: reserved spans are never assigned;
 * a number must lie in a range open to the service and environment; it must not be held by
 * another port of the same environment and protocol, nor released by one less than
 * `reuse_cooldown` ago. A port never blocks itself, so re-asking for its own number succeeds.
 */
export class Constraints {
  readonly policy: RegisterPolicy;
  readonly now: number;
  readonly #slots: UseIndex['slots'];

  /** `now` is milliseconds since the epoch, from the injected clock; `uses` may come indexed already. */
  constructor(policy: RegisterPolicy, uses: readonly NumberUse[] | UseIndex, now: number) {
    this.policy = policy;
    this.now = now;
    this.#slots = ('slots' in uses ? uses : indexUses(uses)).slots;
  }

  /** Every use of a number in an environment and protocol. */
  usesAt(env: string, protocol: NumberUse['protocol'], number: number): readonly NumberUse[] {
    return this.#slots.get(slotKey(env, protocol, number)) ?? [];
  }

  /** Applies every rule, in order, and returns the first refusal or the admitting range. */
  check(request: NumberRequest): ConstraintResult {
    const reserved = this.checkReserved(request.number);
    if (reserved) return reserved;
    const range = this.checkRange(request);
    if (!range.ok) return range;
    return this.checkAvailable(request) ?? range;
  }

  /** The `reserved` rule alone. `subject` names the number in the message. */
  checkReserved(number: number, subject = String(number)): ConstraintRefusal | undefined {
    const span = reservedSpan(this.policy, number);
    if (!span) return undefined;
    return { ok: false, rule: 'reserved', reserved: span, message: `${subject} is reserved (reserved ${formatSpan(span)}) and never assigned` };
  }

  /** The `out_of_range` rule alone: the first range, in configuration order, open to the request. */
  checkRange(request: NumberRequest, subject = String(request.number)): { ok: true; range: string } | ConstraintRefusal {
    const open = admittingRanges(this.policy, request.service, request.env);
    const hit = open.find((range) => request.number >= range.from && request.number <= range.to);
    if (hit) return { ok: true, range: hit.name };
    const where = `${request.service} in ${request.env}`;
    const closed = this.policy.ranges.find((range) => request.number >= range.from && request.number <= range.to);
    const message = closed
      ? `${subject} is in range ${describeRange(closed)}, which is limited to ${limits(closed)}; not ${where}`
      : open.length > 0
        ? `${subject} is outside every range open to ${where} (${open.map(describeRange).join(', ')})`
        : `no range is open to ${where}`;
    return { ok: false, rule: 'out_of_range', ranges: open.map((range) => range.name), message };
  }

  /** The `taken` and `cooldown` rules: held by another port, or released by one too recently. */
  checkAvailable(request: NumberRequest): ConstraintRefusal | undefined {
    const uses = this.usesAt(request.env, request.protocol, request.number).filter((use) => !samePort(use, request));
    const what = formatNumber(request.number, request.protocol);
    const held = uses.find((use) => use.releasedAt === undefined);
    if (held) {
      return { ok: false, rule: 'taken', by: keyOf(held), message: `${what} is taken by ${held.service}/${held.name} in ${held.env}` };
    }
    let cooling: { use: NumberUse; freeAt: number } | undefined;
    for (const use of uses) {
      const freeAt = (use.releasedAt ?? 0) + this.policy.reuseCooldownMs;
      // the instant the cool-down ends, the number is free
      if (this.now < freeAt && (!cooling || freeAt > cooling.freeAt)) cooling = { use, freeAt };
    }
    if (!cooling) return undefined;
    const { use, freeAt } = cooling;
    const releasedAt = use.releasedAt ?? 0;
    return {
      ok: false,
      rule: 'cooldown',
      by: keyOf(use),
      releasedAt,
      freeAt,
      message: `${what} was released by ${use.service}/${use.name} at ${iso(releasedAt)} and is free again at ${iso(freeAt)}`,
    };
  }
}

/** The error code each refusal travels as through the API and the CLI. */
export const refusalCodes = {
  reserved: 'port_reserved',
  out_of_range: 'port_out_of_range',
  taken: 'port_taken',
  cooldown: 'port_taken',
  exhausted: 'range_exhausted',
} as const;

/** A refused number as an error; `rule` says which rule refused it. */
export class PortRefusedError extends PortwardenError {
  declare readonly code: (typeof refusalCodes)[keyof typeof refusalCodes];
  readonly rule: keyof typeof refusalCodes;

  constructor(rule: keyof typeof refusalCodes, message: string) {
    super(refusalCodes[rule], `refused by rule ${rule}: ${message}`);
    this.name = 'PortRefusedError';
    this.rule = rule;
  }
}

/** Turns a refusal (data) into the error the API and the CLI report. */
export function refusalError(refusal: { rule: keyof typeof refusalCodes; message: string }): PortRefusedError {
  return new PortRefusedError(refusal.rule, refusal.message);
}

function keyOf(use: NumberUse): PortKey {
  return { service: use.service, name: use.name, env: use.env, protocol: use.protocol };
}

function limits(range: NamedRange): string {
  const parts: string[] = [];
  if (range.services) parts.push(`services ${range.services.join(', ')}`);
  if (range.envs) parts.push(`envs ${range.envs.join(', ')}`);
  return parts.join(' in ');
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

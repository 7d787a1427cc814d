import type { AuthorityConfig } from '../shared/config/authority-schema.ts';
import { authoritySchema } from '../shared/config/authority-schema.ts';

/** An inclusive span of port numbers. */
export interface PortSpan {
  from: number;
  to: number;
}

/** A range numbers are allocated from, optionally limited to services (globs) and environments. */
export interface NamedRange extends PortSpan {
  name: string;
  services?: readonly string[] | undefined;
  envs?: readonly string[] | undefined;
}

/** What the register's constraints need from the `register` configuration section. */
export interface RegisterPolicy {
  reserved: readonly PortSpan[];
  ranges: readonly NamedRange[];
  /** A released number is not handed to another port before this many milliseconds. */
  reuseCooldownMs: number;
}

/** The policy of an authority configuration's `register` section. */
export function policyFromConfig(register: AuthorityConfig['register']): RegisterPolicy {
  return { reserved: register.reserved, ranges: register.ranges, reuseCooldownMs: register.reuse_cooldown };
}

/** The policy an authority runs with when its configuration says nothing about the register. */
export function defaultPolicy(): RegisterPolicy {
  return policyFromConfig(authoritySchema.parse({}).register);
}

/** `6443` or `30000-32767`, as the configuration spells a span. */
export function formatSpan(span: PortSpan): string {
  return span.from === span.to ? String(span.from) : `${span.from}-${span.to}`;
}

/** The reserved span holding `number`, if any. */
export function reservedSpan(policy: RegisterPolicy, number: number): PortSpan | undefined {
  return policy.reserved.find((span) => number >= span.from && number <= span.to);
}

/** True when the range is open to this service and environment. */
export function rangeAdmits(range: NamedRange, service: string, env: string): boolean {
  if (range.envs !== undefined && !range.envs.includes(env)) return false;
  return range.services === undefined || range.services.some((glob) => globMatches(glob, service));
}

/** The ranges open to a service in an environment, in configuration order. */
export function admittingRanges(policy: RegisterPolicy, service: string, env: string): NamedRange[] {
  return policy.ranges.filter((range) => rangeAdmits(range, service, env));
}

/**
 * How narrowly a range is limited: both services and environments (3), services (2),
 * environments (1), open to all (0). Allocation tries the narrowest ranges first, so a
 * `postgres-*` range fills with postgres services before they spill into the default one.
 */
export function specificity(range: NamedRange): number {
  return (range.services !== undefined ? 2 : 0) + (range.envs !== undefined ? 1 : 0);
}

const globCache = new Map<string, RegExp>();

/** Shell-style service globs: `*` any run of characters, `?` one; everything else literal. */
export function globMatches(glob: string, text: string): boolean {
  let pattern = globCache.get(glob);
  if (pattern === undefined) {
    const body = glob.replace(/[.+^${}()|[\]\\*?]/g, (ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : `\\${ch}`));
    pattern = new RegExp(`^${body}$`);
    globCache.set(glob, pattern);
  }
  return pattern.test(text);
}

/** `default 20000-29999` for messages. */
export function describeRange(range: NamedRange): string {
  return `${range.name} ${formatSpan(range)}`;
}

import { createHash } from 'node:crypto';
import { Constraints, type ConstraintRefusal } from './constraints.ts';
import { samePort, type NumberUse, type PortKey, type UseIndex } from './number-use.ts';
import { admittingRanges, describeRange, specificity, type NamedRange, type PortSpan, type RegisterPolicy } from './policy.ts';

/** A port asking for a number; with `number`, that number is validated and never moved. */
export interface AllocationRequest extends PortKey {
  number?: number | undefined;
}

/**
 * How the number was found: asked for explicitly, already held by this port, the number the
 * same service/name holds in another environment, or the stable hash (after probing).
 */
export type AllocationSource = 'explicit' | 'existing' | 'other_env' | 'hash';

export type AllocationResult =
  | { ok: true; number: number; source: AllocationSource; range?: string }
  | ConstraintRefusal
  | { ok: false; rule: 'exhausted'; message: string };

/**
 * Gives a port a stable number. Pure: the same request over the same uses gives the same
 * answer, so a restart or a fresh allocator changes nothing. In order:
 *
 * 1. an explicit `number` is checked against every constraint and kept or refused, not moved;
 * 2. a number this port already holds is returned (asking twice is harmless);
 * 3. a number the same service/name/protocol holds in another environment, if every
 *    constraint allows it here (lowest first when it holds several), so a port keeps one
 *    number across environments;
 * 4. otherwise sha256(`service/name`) picks a start inside the narrowest ranges open to the
 *    request (see `specificity`), then linear probing steps up (wrapping) past reserved, taken
 *    and cooling numbers; an exhausted tier falls through to the next wider one.
 *
 * `uses` may come indexed (`indexUses`), when one reading of the register answers many requests.
 *
 * Tie rule: when two ports hash to the same start, the one allocated first keeps it and the
 * later one takes the next free number. Numbers never move after allocation, so request order
 * matters only for such collisions. The hash leaves out env and protocol: the same name lands
 * on the same number in every environment and in both the tcp and udp spaces.
 */
export function allocate(request: AllocationRequest, policy: RegisterPolicy, uses: readonly NumberUse[] | UseIndex, now: number): AllocationResult {
  const constraints = new Constraints(policy, uses, now);
  if (request.number !== undefined) {
    const result = constraints.check({ ...request, number: request.number });
    return result.ok ? { ok: true, number: request.number, source: 'explicit', range: result.range } : result;
  }

  // only the service's own uses can be this port's, here or in another environment
  const services = 'slots' in uses ? (uses.byService.get(request.service) ?? []) : uses;
  const own = services.find((use) => use.releasedAt === undefined && samePort(use, request));
  if (own) return { ok: true, number: own.number, source: 'existing' };

  const elsewhere = services
    .filter((use) => use.releasedAt === undefined && use.service === request.service && use.name === request.name)
    .filter((use) => use.protocol === request.protocol && use.env !== request.env)
    .map((use) => use.number)
    .sort((a, b) => a - b);
  for (const number of elsewhere) {
    const result = constraints.check({ ...request, number });
    if (result.ok) return { ok: true, number, source: 'other_env', range: result.range };
  }

  const open = admittingRanges(policy, request.service, request.env);
  if (open.length === 0) return constraints.checkRange({ ...request, number: 0 }) as ConstraintRefusal;
  const start = stableHash(`${request.service}/${request.name}`);
  for (const tier of tiers(open)) {
    const space = mergeSpans(tier);
    const size = space.reduce((sum, span) => sum + span.to - span.from + 1, 0);
    for (let step = 0; step < size; step++) {
      const number = nthNumber(space, (start + step) % size);
      const result = constraints.check({ ...request, number });
      if (result.ok) return { ok: true, number, source: 'hash', range: result.range };
    }
  }
  return {
    ok: false,
    rule: 'exhausted',
    message: `no free ${request.protocol} number for ${request.service}/${request.name} in ${request.env}: every number of ${open.map(describeRange).join(', ')} is reserved, taken or cooling down`,
  };
}

/** The first 48 bits of sha256(text): stable across processes, versions and platforms. */
export function stableHash(text: string): number {
  return createHash('sha256').update(text, 'utf8').digest().readUIntBE(0, 6);
}

/** Ranges grouped by specificity, narrowest first; configuration order within a group. */
function tiers(ranges: readonly NamedRange[]): NamedRange[][] {
  const groups = new Map<number, NamedRange[]>();
  for (const range of ranges) {
    const level = specificity(range);
    groups.set(level, [...(groups.get(level) ?? []), range]);
  }
  return [...groups.entries()].sort(([a], [b]) => b - a).map(([, group]) => group);
}

/** The union of spans as sorted, disjoint spans: overlapping ranges count each number once. */
function mergeSpans(spans: readonly PortSpan[]): PortSpan[] {
  const sorted = [...spans].sort((a, b) => a.from - b.from);
  const merged: PortSpan[] = [];
  for (const span of sorted) {
    const last = merged[merged.length - 1];
    if (last && span.from <= last.to + 1) last.to = Math.max(last.to, span.to);
    else merged.push({ from: span.from, to: span.to });
  }
  return merged;
}

function nthNumber(spans: readonly PortSpan[], index: number): number {
  let rest = index;
  for (const span of spans) {
    const size = span.to - span.from + 1;
    if (rest < size) return span.from + rest;
    rest -= size;
  }
  throw new RangeError(`index ${index} is outside the spans`);
}


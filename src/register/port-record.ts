import { z } from 'zod';
import { name } from '../shared/config/schema-parts.ts';
import { PortwardenError } from '../shared/errors.ts';

/** TCP and UDP are separate number spaces: 53/tcp and 53/udp are two ports. */
export const protocols = ['tcp', 'udp'] as const;
export type Protocol = (typeof protocols)[number];

/**
 * `static`: the register holds a number for it. `ephemeral`: the operating system picks the
 * number at bind time; the register lists the port (owner, last access) but holds no number,
 * so `number` is the last one observed, or null.
 */
export const portKinds = ['static', 'ephemeral'] as const;
export type PortKind = (typeof portKinds)[number];

export const portStates = ['requested', 'active', 'transitioning', 'released', 'rejected'] as const;
export type PortState = (typeof portStates)[number];

/** The environment of a request that names none. */
export const defaultEnv = 'default';

/**
 * Legal state changes, as data. `requested` waits for approval (and already holds its number,
 * so approval cannot collide); `transitioning` holds both numbers until the window ends and
 * it returns to `active` on the new one. `released` and `rejected` are final: asking again
 * makes a new record (which gets the same stable number back).
 */
export const stateTransitions = {
  requested: ['active', 'rejected'],
  active: ['transitioning', 'released'],
  transitioning: ['active', 'released'],
  released: [],
  rejected: [],
} as const satisfies Record<PortState, readonly PortState[]>;

/** True when the register may move a port from `from` to `to`. */
export function canTransition(from: PortState, to: PortState): boolean {
  return (stateTransitions[from] as readonly PortState[]).includes(to);
}

/** Refuses an illegal state change with `conflict`, naming what is allowed instead. */
export function assertTransition(from: PortState, to: PortState): void {
  if (canTransition(from, to)) return;
  const allowed: readonly PortState[] = stateTransitions[from];
  const instead = allowed.length > 0 ? `from ${from} only to ${allowed.join(' or ')}` : `${from} is final`;
  throw new PortwardenError('conflict', `a port cannot go from ${from} to ${to} (${instead})`);
}

const isoDate = z.iso.datetime({ offset: true });
const portNumber = z.number().int().min(1).max(65_535);
/** `service/name` of a port this one calls. */
const dependency = z.string().regex(/^[a-z0-9][a-z0-9._-]*\/[a-z0-9][a-z0-9._-]*$/, 'must be service/name');

/** One port of the register, as the API returns it and a snapshot stores it. Dates are ISO 8601. */
export const portRecordSchema = z
  .strictObject({
    id: z.string().min(1),
    service: name,
    name,
    env: name,
    protocol: z.enum(protocols).default('tcp'),
    kind: z.enum(portKinds).default('static'),
    number: portNumber.nullable(),
    owner: z.string().min(1),
    dependencies: z.array(dependency).default([]),
    state: z.enum(portStates),
    created_at: isoDate,
    created_by: z.string().min(1),
    approved_at: isoDate.nullable().default(null),
    approved_by: z.string().nullable().default(null),
    rejected_at: isoDate.nullable().default(null),
    rejected_by: z.string().nullable().default(null),
    released_at: isoDate.nullable().default(null),
    released_by: z.string().nullable().default(null),
    /** Why it was requested, rejected or released: the latest decision's words. */
    reason: z.string().nullable().default(null),
    /** While `transitioning`: the new number, and when the old one is released. */
    transition: z.strictObject({ to: portNumber, window_ends_at: isoDate }).nullable().default(null),
    last_access_at: isoDate.nullable().default(null),
    /** Numbers this port held before a completed transition; they cool down like released ones. */
    previous_numbers: z.array(z.strictObject({ number: portNumber, released_at: isoDate })).default([]),
  })
  .superRefine((record, ctx) => {
    if (record.kind === 'static' && record.number === null) {
      ctx.addIssue({ code: 'custom', path: ['number'], message: 'a static port must have a number' });
    }
    if ((record.state === 'transitioning') !== (record.transition !== null)) {
      ctx.addIssue({ code: 'custom', path: ['transition'], message: 'is set exactly when the state is transitioning' });
    }
    if (record.state === 'released' && record.released_at === null) {
      ctx.addIssue({ code: 'custom', path: ['released_at'], message: 'a released port must say when it was released' });
    }
  });

export type PortRecord = z.output<typeof portRecordSchema>;

/** `service/name`, the port's address in the register and the license `sub`. */
export function portRef(port: { service: string; name: string }): string {
  return `${port.service}/${port.name}`;
}

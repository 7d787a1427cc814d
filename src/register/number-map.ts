import { usesFromRecords } from './number-use.ts';
import type { PortRecord, Protocol } from './port-record.ts';

/**
 * What a number is to the register right now, beyond reserved (the policy's spans) and free
 * (everything else): held by an `active` port, held by a `requested` one awaiting approval,
 * one of the two numbers of a port in a transition, or released and cooling down.
 */
export const numberStates = ['assigned', 'requested', 'transitioning', 'cooldown'] as const;
export type NumberState = (typeof numberStates)[number];

/** One number in use in an environment and protocol, and the port it belongs to. */
export interface NumberEntry {
  env: string;
  protocol: Protocol;
  number: number;
  state: NumberState;
  port: { id: string; service: string; name: string };
  /** Cool-down: when the number is free again. In a transition: when the window ends. Else null. */
  until: string | null;
}

/**
 * Every number the records hold or cool down at `now`, ordered by environment, number and
 * protocol: the map a person reads to see where a new port fits. Built on the same uses the
 * allocator's constraints judge (`usesFromRecords`), so a number shown free is one a request
 * for it would get (range limits aside); a cool-down that ended is free again.
 */
export function numberMap(records: readonly PortRecord[], reuseCooldownMs: number, now: number): NumberEntry[] {
  const entries: NumberEntry[] = [];
  for (const record of records) {
    const port = { id: record.id, service: record.service, name: record.name };
    for (const use of usesFromRecords([record])) {
      const at = { env: use.env, protocol: use.protocol, number: use.number, port };
      if (use.releasedAt !== undefined) {
        const freeAt = use.releasedAt + reuseCooldownMs;
        if (now < freeAt) entries.push({ ...at, state: 'cooldown', until: new Date(freeAt).toISOString() });
      } else if (record.state === 'transitioning') {
        entries.push({ ...at, state: 'transitioning', until: record.transition?.window_ends_at ?? null });
      } else {
        entries.push({ ...at, state: record.state === 'requested' ? 'requested' : 'assigned', until: null });
      }
    }
  }
  return entries.sort((a, b) => (a.env < b.env ? -1 : a.env > b.env ? 1 : a.number - b.number || (a.protocol < b.protocol ? -1 : a.protocol > b.protocol ? 1 : 0)));
}

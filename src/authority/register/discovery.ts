import type { Clock } from '../../shared/clock.ts';
import { PortwardenError } from '../../shared/errors.ts';
import type { Protocol } from '../../register/port-record.ts';
import type { Store } from '../store/store.ts';
import { activeOn, licensesOf, numbersOf } from './port-licenses.ts';
import type { PortKind, PortState } from '../../register/port-record.ts';
import { describeRef, liveStates, resolvePort } from './port-ref.ts';

/** Where `service/name` lives: what `GET /v1/discover/{service}/{name}` answers. */
export interface PortLocation {
  id: string;
  service: string;
  name: string;
  env: string;
  protocol: Protocol;
  kind: PortKind;
  /** Null for an ephemeral port that never reported one. */
  number: number | null;
  /** While transitioning, both numbers answer; callers should move to `to` before the window ends. */
  transition: { to: number; window_ends_at: string } | null;
  state: PortState;
  owner: string;
  /** Lids of the licenses in force on the port's numbers. */
  licenses: string[];
}

/**
 * Answers where a live port is. A port that is released or rejected is `not_found`, with its
 * last state in the message: callers must not dial a number that is cooling down.
 */
export async function discover(store: Store, clock: Clock, ref: { service: string; name: string; env: string; protocol?: Protocol | undefined }): Promise<PortLocation> {
  return store.read(async (tx) => {
    const row = await resolvePort(tx, ref);
    if (!(liveStates as readonly string[]).includes(row.state)) {
      throw new PortwardenError('not_found', `${describeRef(ref)} is not live (it is ${row.state})`);
    }
    const now = clock.now();
    const held = numbersOf({ ...row, previousNumbers: [] });
    const licenses = row.kind === 'ephemeral' ? [] : activeOn(await licensesOf(tx, row), held, now);
    return {
      id: row.id,
      service: row.service,
      name: row.name,
      env: row.env,
      protocol: row.protocol,
      kind: row.kind,
      number: row.number,
      transition: row.transition ? { to: row.transition.to, window_ends_at: new Date(row.transition.windowEndsAt).toISOString() } : null,
      state: row.state,
      owner: row.owner,
      licenses: licenses.map((license) => license.lid),
    };
  });
}

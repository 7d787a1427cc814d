import type { Frozen } from '../shared/config/frozen.ts';
import type { PortRecord, Protocol } from './port-record.ts';

/** Which port a number belongs to: numbers are unique per environment and protocol. */
export interface PortKey {
  service: string;
  name: string;
  env: string;
  protocol: Protocol;
}

/**
 * One number held, or recently given up, by a port. A held number blocks every other port;
 * a released one blocks other ports until `releasedAt + reuse_cooldown`, so clients that still
 * dial the old owner never reach a newcomer.
 */
export interface NumberUse extends PortKey {
  number: number;
  /** Milliseconds since the epoch; absent while the number is held. */
  releasedAt?: number;
}

/** True when two keys name the same port (service, name, environment, protocol). */
export function samePort(a: PortKey, b: PortKey): boolean {
  return a.service === b.service && a.name === b.name && a.env === b.env && a.protocol === b.protocol;
}

/**
 * The numbers a set of records holds or has recently released:
 * `requested` and `active` hold their number (a pending request holds it so approval cannot
 * collide), `transitioning` holds both its number and the transition's target, `released`
 * and numbers left behind by a transition cool down, `rejected` and ephemeral ports hold nothing.
 */
export function usesFromRecords(records: readonly Frozen<PortRecord>[]): NumberUse[] {
  const uses: NumberUse[] = [];
  for (const record of records) {
    const key: PortKey = { service: record.service, name: record.name, env: record.env, protocol: record.protocol };
    for (const previous of record.previous_numbers) {
      uses.push({ ...key, number: previous.number, releasedAt: Date.parse(previous.released_at) });
    }
    if (record.kind === 'ephemeral' || record.number === null) continue;
    switch (record.state) {
      case 'requested':
      case 'active':
        uses.push({ ...key, number: record.number });
        break;
      case 'transitioning':
        uses.push({ ...key, number: record.number });
        if (record.transition) uses.push({ ...key, number: record.transition.to });
        break;
      case 'released':
        uses.push({ ...key, number: record.number, releasedAt: Date.parse(record.released_at ?? record.created_at) });
        break;
      case 'rejected':
        break;
    }
  }
  return uses;
}

/**
 * A register's uses indexed by (env, protocol, number) and by service, built once per reading
 * of the register, so checks against one reading cost the definitions checked, not the size of
 * the register.
 */
export interface UseIndex {
  readonly uses: readonly NumberUse[];
  readonly slots: ReadonlyMap<string, readonly NumberUse[]>;
  readonly byService: ReadonlyMap<string, readonly NumberUse[]>;
}

/** Indexes uses (see `UseIndex`). */
export function indexUses(uses: readonly NumberUse[]): UseIndex {
  const slots = new Map<string, NumberUse[]>();
  const byService = new Map<string, NumberUse[]>();
  for (const use of uses) {
    for (const [map, key] of [[slots, slotKey(use.env, use.protocol, use.number)], [byService, use.service]] as const) {
      const list = map.get(key);
      if (list) list.push(use);
      else map.set(key, [use]);
    }
  }
  return { uses, slots, byService };
}

/** The key of a number's slot: numbers are unique per environment and protocol. */
export function slotKey(env: string, protocol: string, number: number): string {
  return `${env}\u0000${protocol}\u0000${number}`;
}

/** `20001/tcp` */
export function formatNumber(number: number, protocol: Protocol): string {
  return `${number}/${protocol}`;
}

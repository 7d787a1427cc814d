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

/** `20001/tcp` */
export function formatNumber(number: number, protocol: Protocol): string {
  return `${number}/${protocol}`;
}

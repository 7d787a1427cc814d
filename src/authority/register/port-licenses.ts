import type { Actor } from '../audit/log.ts';
import type { Touch } from '../changes/run-change.ts';
import { effectiveState, type LicenseView } from '../licenses/view.ts';
import type { LicenseService } from '../licenses/service.ts';
import type { LicenseRow, RenewPolicy } from '../store/licenses.ts';
import type { PortRow } from '../store/ports.ts';
import type { StoreTx } from '../store/store.ts';
import { defaultEnv } from '../../register/port-record.ts';

/** What a port's license is issued with: the callers, and optionally its TTL and renew policy. */
export interface LicenseSpec {
  allow: string[];
  ttlMs?: number | undefined;
  renew?: RenewPolicy | undefined;
}

/** Every number a port holds or has held: its own, a transition's target, the previous ones. */
export function numbersOf(row: PortRow): number[] {
  const numbers = row.number === null ? [] : [row.number];
  if (row.transition) numbers.push(row.transition.to);
  for (const previous of row.previousNumbers) numbers.push(previous.number);
  return numbers;
}

/**
 * True when the license is one of the port's: the same service, port name and protocol, a
 * number the port holds or held, and the port's environment (a license issued without an
 * env belongs to the `default` environment).
 */
export function belongsTo(license: LicenseRow, row: PortRow): boolean {
  if (license.service !== row.service || license.portName !== row.name || license.protocol !== row.protocol) return false;
  if ((license.env ?? defaultEnv) !== row.env) return false;
  return row.kind === 'ephemeral' || numbersOf(row).includes(license.portNumber);
}

/** The port's licenses in any state, oldest first. */
export async function licensesOf(tx: StoreTx, row: PortRow): Promise<LicenseRow[]> {
  return (await tx.licenses.list({ service: row.service })).filter((license) => belongsTo(license, row));
}

/** The port's licenses on `numbers` that are still in force at `now`. */
export function activeOn(licenses: readonly LicenseRow[], numbers: readonly number[], now: number): LicenseRow[] {
  return licenses.filter((license) => numbers.includes(license.portNumber) && effectiveState(license, now) === 'active');
}

/** Issues the port's license for `number` inside the caller's change. */
export function issueForPort(
  tx: StoreTx,
  touch: Touch,
  licenses: LicenseService,
  actor: Actor,
  row: PortRow,
  number: number,
  spec: LicenseSpec,
): Promise<LicenseView> {
  return licenses.issueWithin(tx, touch, actor, {
    service: row.service,
    portName: row.name,
    port: { number, protocol: row.protocol },
    allow: spec.allow,
    ttlMs: spec.ttlMs,
    env: row.env,
    renew: spec.renew,
  });
}

/** Revokes, inside the caller's change, every license of the port in force on `numbers`; returns their lids. */
export async function revokeOn(
  tx: StoreTx,
  touch: Touch,
  licenses: LicenseService,
  actor: Actor,
  row: PortRow,
  numbers: readonly number[],
  now: number,
  reason: string,
): Promise<string[]> {
  const revoked: string[] = [];
  for (const license of activeOn(await licensesOf(tx, row), numbers, now)) {
    await licenses.revokeWithin(tx, touch, actor, license.lid, reason);
    revoked.push(license.lid);
  }
  return revoked;
}

/**
 * What the new number's license copies from the old number's licenses during a transition:
 * the union of their allow lists (one license, so the sidecar has one license in force per
 * port), and the TTL and renew policy of the newest. Undefined when none is in force.
 */
export function specFrom(current: readonly LicenseRow[]): LicenseSpec | undefined {
  const newest = current.at(-1);
  if (!newest) return undefined;
  const allow = [...new Set(current.flatMap((license) => license.allow))];
  return { allow, ttlMs: newest.ttlMs, renew: newest.renew };
}

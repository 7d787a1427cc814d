import type { PortRow } from '../store/ports.ts';
import type { StoreTx } from '../store/store.ts';
import { Constraints, refusalError } from '../../register/constraints.ts';
import { usesFromRecords, type NumberUse, type PortKey } from '../../register/number-use.ts';
import type { RegisterPolicy } from '../../register/policy.ts';
import { portRecord } from './port-view.ts';

/**
 * Every number the register holds or is cooling down, read inside the caller's transaction:
 * a decision made on these uses and the write that follows it commit together, so two
 * requests can never both see a number as free.
 */
export async function registerUses(tx: StoreTx): Promise<NumberUse[]> {
  return usesFromRecords((await tx.ports.list()).map((row) => portRecord(row)));
}

/** The key of a stored port, as the constraints compare ports. */
export function keyOf(row: Pick<PortRow, 'service' | 'name' | 'env' | 'protocol'>): PortKey {
  return { service: row.service, name: row.name, env: row.env, protocol: row.protocol };
}

/**
 * Applies every constraint to `number` for this port (which never blocks itself) and throws
 * the refusal, naming its rule; returns the admitting range.
 */
export async function requireNumber(tx: StoreTx, policy: RegisterPolicy, key: PortKey, number: number, now: number): Promise<string> {
  const result = new Constraints(policy, await registerUses(tx), now).check({ ...key, number });
  if (!result.ok) throw refusalError(result);
  return result.range;
}

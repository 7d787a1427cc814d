import type { Writable } from 'node:stream';
import type { CallerAccessView } from '../../authority/access/last-access.ts';
import { printTable } from '../output.ts';

const columns = {
  identity: 'IDENTITY',
  origin: 'ORIGIN',
  count: 'CONNECTIONS',
  bytes_in: 'BYTES_IN',
  bytes_out: 'BYTES_OUT',
  first_access_at: 'FIRST_ACCESS',
  last_access_at: 'LAST_ACCESS',
  last: 'LAST_DECISION',
} as const;

/** Who used a port (`licenses show`, `ports show`): last access per (identity, origin address), most recent first. */
export function printCallers(out: Writable, callers: readonly CallerAccessView[]): void {
  if (callers.length === 0) {
    out.write('no access recorded\n');
    return;
  }
  const rows = callers.map((caller) => ({ ...caller, last: caller.last_reason === null ? caller.last_decision : `${caller.last_decision} (${caller.last_reason})` }));
  printTable(out, rows, columns);
}

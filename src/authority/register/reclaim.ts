import type { LicenseRow, PortRow } from '../store/store.ts';
import { lastAccessOf } from './port-licenses.ts';

/** An active port nobody reached for `stale_after`. */
export interface StalePort {
  row: PortRow;
  /** The latest access the telemetry recorded on the port's licenses, if any. */
  lastAccessAt: number | null;
  /** What staleness is measured from: the last access, else the approval, else the request. */
  idleSince: number;
}

/**
 * The ports cleanup may reclaim: `active` (never one in a transition, a pending request or a
 * released one) whose last access, or approval when nothing ever connected, is at least
 * `staleAfterMs` ago. A port with any license used within `staleAfterMs` is in use, so it is
 * never stale. Oldest idle first.
 */
export function stalePorts(rows: readonly PortRow[], licenses: readonly LicenseRow[], now: number, staleAfterMs: number): StalePort[] {
  const byService = new Map<string, LicenseRow[]>();
  for (const license of licenses) byService.set(license.service, [...(byService.get(license.service) ?? []), license]);
  const stale: StalePort[] = [];
  for (const row of rows) {
    if (row.state !== 'active') continue;
    const lastAccessAt = lastAccessOf(row, byService.get(row.service) ?? []);
    const idleSince = lastAccessAt ?? row.approvedAt ?? row.createdAt;
    if (now - idleSince >= staleAfterMs) stale.push({ row, lastAccessAt, idleSince });
  }
  return stale.sort((a, b) => a.idleSince - b.idleSince || Number(a.row.id) - Number(b.row.id));
}

import type { PortRow } from '../store/ports.ts';
import { lastUsedAt, type PortUsage } from './port-usage.ts';

/** An active port nobody reached for `stale_after`. */
export interface StalePort {
  row: PortRow;
  /** The latest admitted access the telemetry recorded (see `lastUsedAt`), if any. */
  lastAccessAt: number | null;
  /** What staleness is measured from: the last access, else the approval, else the request. */
  idleSince: number;
}

/**
 * The ports cleanup may reclaim: `active` (never one in a transition, a pending request or a
 * released one) whose last access, or approval when nothing ever connected, is at least
 * `staleAfterMs` ago. A port with any license (or caller) admitted within `staleAfterMs` is in
 * use, so it is never stale. Oldest idle first.
 */
export function stalePorts(rows: readonly PortRow[], usage: PortUsage, now: number, staleAfterMs: number): StalePort[] {
  const stale: StalePort[] = [];
  for (const row of rows) {
    if (row.state !== 'active') continue;
    const lastAccessAt = lastUsedAt(row, usage);
    const idleSince = lastAccessAt ?? row.approvedAt ?? row.createdAt;
    if (now - idleSince >= staleAfterMs) stale.push({ row, lastAccessAt, idleSince });
  }
  return stale.sort((a, b) => a.idleSince - b.idleSince || Number(a.row.id) - Number(b.row.id));
}

/** The first retry after a failed round comes this soon: an authority restart is noticed quickly. */
export const BACKOFF_FLOOR_MS = 250;

/**
 * The pause before retry number `failures` (1-based): doubling from `floorMs`, capped at
 * `ceilingMs` (the sidecar uses `authority.refresh`, its longest gap anyway), with "equal jitter"
 * (half fixed, half random) so a fleet of sidecars does not return in lockstep after an outage,
 * yet each one's pauses still grow.
 */
export function backoffDelay(failures: number, floorMs: number, ceilingMs: number, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 30);
  const base = Math.min(ceilingMs, floorMs * 2 ** exponent);
  return base / 2 + random() * (base / 2);
}

import type { WatchSlots } from '../limits/watch-slots.ts';

/** A blocking query never holds longer than this, whatever `wait` asks. */
const maxWaitMs = 5 * 60_000;

/** How long a query may be held: not at all without an `index`, else its `wait` (default and cap `maxWaitMs`). */
export function blockingWaitMs(query: { index?: number | undefined; wait?: number | undefined }): number {
  return query.index === undefined ? 0 : Math.min(query.wait ?? maxWaitMs, maxWaitMs);
}

/**
 * Runs a blocking query's `work`. One that may be held takes a place among the token's and
 * everyone's blocking queries first (`limits.max_watches*`, refused `too_many_watches`) and
 * gives it back when answered; one that answers at once needs none.
 */
export async function whileHeld<T>(slots: WatchSlots, tokenId: string, waitMs: number, work: () => Promise<T>): Promise<T> {
  const slot = waitMs > 0 ? slots.hold(tokenId) : undefined;
  try {
    return await work();
  } finally {
    slot?.release();
  }
}

import { z } from 'zod';
import type { AuthorityContext } from '../context.ts';
import type { Route } from '../http/router.ts';
import { durationText, indexText } from '../http/schemas.ts';
import { blockingWaitMs, whileHeld } from './blocking-query.ts';

const changesQuery = z.strictObject({ index: indexText.optional(), wait: durationText.optional() });

/**
 * The global change index, answered at once, or as a blocking query: held until anything
 * changes after `index` (a license of any service, or the register), `wait` passes (at most
 * 5m), the client goes away or the authority shuts down. For admins and viewers: the console
 * follows the whole system through it and reloads what it shows when the index moves. A held
 * query counts against `limits.max_watches` and `max_watches_per_token`, like a license watch.
 */
export function changeRoutes(ctx: AuthorityContext): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/changes',
      access: 'admin',
      async handler(req) {
        const query = req.queryAs(changesQuery);
        const waitMs = blockingWaitMs(query);
        const index = await whileHeld(ctx.watchSlots, req.principal?.id ?? '', waitMs, () => nextIndex(ctx, query.index ?? 0, waitMs, req.signal));
        return { headers: { 'x-portwarden-index': String(index) }, body: { index } };
      },
    },
  ];
}

/**
 * The current index once it is past `afterIndex` (at once when it already is, when
 * `afterIndex` is 0, or when it is ahead of the store, as after a restore), else after the
 * wait. The wait is registered before the read, so a commit between the two still wakes it.
 */
async function nextIndex(ctx: AuthorityContext, afterIndex: number, waitMs: number, signal: AbortSignal): Promise<number> {
  const current = () => ctx.store.read((tx) => tx.index.current());
  if (afterIndex <= 0 || waitMs <= 0) return current();
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const woken = ctx.hub.wait(undefined, afterIndex, waitMs, stop.signal);
    const first = await current();
    if (first !== afterIndex) return first;
    await woken;
    return await current();
  } finally {
    stop.abort();
    signal.removeEventListener('abort', onAbort);
  }
}

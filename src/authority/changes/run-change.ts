import type { Store, StoreTx } from '../store/store.ts';
import type { WatchHub } from './watch-hub.ts';

/**
 * The key register changes (a request, an approval, a release…) take their index under. No
 * service name starts with `:`, so no sidecar's blocking query wakes for them, while every
 * all-services waiter (`GET /v1/changes`, the console) does.
 */
export const registerChanges = ':register';

/** Takes the next change index for `service` inside the transaction. */
export type Touch = (service: string) => Promise<number>;

/**
 * Runs one write transaction that may change what services see. Each `touch(service)` takes the
 * next global index (so concurrent changes get strictly increasing indexes in commit order),
 * and once the transaction commits the hub wakes that service's blocking queries. Nothing is
 * announced when the transaction rolls back.
 */
export async function runChange<T>(store: Store, hub: WatchHub, fn: (tx: StoreTx, touch: Touch) => Promise<T>): Promise<T> {
  const touched: [string, number][] = [];
  const result = await store.transaction((tx) =>
    fn(tx, async (service) => {
      const index = await tx.index.bump(service);
      touched.push([service, index]);
      return index;
    }),
  );
  for (const [service, index] of touched) hub.notify(service, index);
  return result;
}

import { expect, it, onTestFinished } from 'vitest';
import { systemActor } from '../../../../src/authority/audit/log.ts';
import { SqliteStore } from '../../../../src/authority/store/sqlite/store.ts';
import type { Store } from '../../../../src/authority/store/store.ts';
import { TokenService } from '../../../../src/authority/tokens/service.ts';
import { systemClock } from '../../../../src/shared/clock.ts';
import { tempDir } from '../../../helpers/tmp.ts';

// Concurrent lookups of one token share one read in flight (the replicas of a service share
// their token and ask in bursts). A request that arrives after a revocation was answered must
// not join a read begun before it.
it('a request after the revocation is refused, even while a lookup begun before it is still in flight', async () => {
  const store = SqliteStore.open({ dataDir: await tempDir() });
  onTestFinished(() => store.close());
  // reads complete at once but hand their result over only when released: a lookup stays in flight
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const slowReads = {
    read: async <T>(fn: Parameters<Store['read']>[0]) => {
      const result = await store.read(fn);
      await released;
      return result as T;
    },
    transaction: store.transaction.bind(store),
  } as unknown as Store;
  const tokens = new TokenService({ store: slowReads, clock: systemClock });
  const { token, view } = await new TokenService({ store, clock: systemClock }).create(systemActor, { role: 'sidecar', service: 'payments' });
  const bearer = `Bearer ${token}`;

  const before = tokens.authenticate(bearer); // read the token while active
  await new Promise((resolve) => setTimeout(resolve, 20));
  await tokens.revoke(systemActor, view.id);
  const after = tokens.authenticate(bearer);
  release();

  expect((await before)?.service).toBe('payments'); // it began before the revocation
  expect(await after).toBeUndefined();
});

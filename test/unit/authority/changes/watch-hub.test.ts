import { describe, expect, it } from 'vitest';
import { WatchHub } from '../../../../src/authority/changes/watch-hub.ts';

describe('WatchHub', () => {
  it('wakes the waiters of a service on a change after their index, and only those', async () => {
    const hub = new WatchHub();
    const payments = hub.wait('payments', 5, 10_000);
    const orders = hub.wait('orders', 5, 50);
    const all = hub.wait(undefined, 5, 10_000);
    expect(hub.size).toBe(3);
    hub.notify('payments', 5); // not after index 5: nobody wakes
    expect(hub.size).toBe(3);
    hub.notify('payments', 6);
    expect(await payments).toBe('changed');
    expect(await all).toBe('changed');
    expect(await orders).toBe('timeout');
    expect(hub.size).toBe(0);
  });

  it('takes a change announced twice, or late and out of order (another authority’s, re-announced), without waking anyone early', async () => {
    const hub = new WatchHub();
    hub.notify('payments', 7);
    hub.notify('payments', 7); // heard from the store after the local commit announced it
    const waiter = hub.wait('payments', 7, 10_000);
    hub.notify('payments', 6); // a late, older index
    hub.notify('payments', 7);
    expect(hub.size).toBe(1);
    hub.notify('payments', 8);
    expect(await waiter).toBe('changed');
    hub.notify('payments', 8);
    expect(hub.size).toBe(0);
  });

  it('ends a wait when its signal aborts, and on close; refuses to park once closed', async () => {
    const hub = new WatchHub();
    const abort = new AbortController();
    const aborted = hub.wait('payments', 1, 10_000, abort.signal);
    const closed = hub.wait('payments', 1, 10_000);
    abort.abort();
    expect(await aborted).toBe('aborted');
    await hub.close();
    await hub.close();
    expect(await closed).toBe('closed');
    expect(await hub.wait('payments', 1, 10_000)).toBe('closed');
    expect(hub.size).toBe(0);
  });
});

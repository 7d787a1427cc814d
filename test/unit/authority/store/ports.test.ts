import { describe, expect } from 'vitest';
import type { PortRow } from '../../../../src/authority/store/ports.ts';
import { storeKinds } from '../../../helpers/stores.ts';

function port(fields: Partial<PortRow> = {}): Omit<PortRow, 'id'> {
  return {
    service: 'payments',
    name: 'api',
    env: 'prod',
    protocol: 'tcp',
    kind: 'static',
    number: 20001,
    owner: 'team-payments',
    dependencies: [],
    state: 'active',
    createdAt: 1,
    createdBy: 'admin',
    approvedAt: 1,
    approvedBy: 'policy',
    rejectedAt: null,
    rejectedBy: null,
    releasedAt: null,
    releasedBy: null,
    reason: null,
    transition: null,
    previousNumbers: [],
    pendingLicense: null,
    ...fields,
  };
}

describe.each(storeKinds())('the $name ports repository', (kind) => {
  kind.it('stores and reads a port with every field, and assigns increasing ids', async () => {
    const store = await (await kind.fresh()).open();
    const full = port({ dependencies: ['billing/api'], pendingLicense: { allow: ['spiffe://a'], ttlMs: 60_000 }, previousNumbers: [{ number: 20000, releasedAt: 5 }] });
    const a = await store.transaction((tx) => tx.ports.insert(full));
    const b = await store.transaction((tx) => tx.ports.insert(port({ name: 'grpc', number: 20002 })));
    expect([a.id, b.id]).toEqual(['1', '2']);
    expect(await store.read((tx) => tx.ports.get('1'))).toEqual({ ...full, id: '1' });
    expect(await store.read((tx) => tx.ports.get('nope'))).toBeUndefined();
    expect((await store.read((tx) => tx.ports.list({ name: 'grpc' }))).map((row) => row.id)).toEqual(['2']);
    await store.close();
  });

  kind.it('refuses a number another live port holds in the same env and protocol, whatever the caller checked', async () => {
    const store = await (await kind.fresh()).open();
    await store.transaction((tx) => tx.ports.insert(port()));
    await expect(store.transaction((tx) => tx.ports.insert(port({ service: 'orders' })))).rejects.toMatchObject({
      code: 'port_taken',
      message: 'refused by rule taken: 20001/tcp is taken by payments/api in prod',
    });
    // the failed transaction left nothing behind
    expect(await store.read((tx) => tx.ports.list())).toHaveLength(1);
    // another env, the other protocol, and a port that holds nothing are fine
    await store.transaction((tx) => tx.ports.insert(port({ service: 'orders', env: 'staging' })));
    await store.transaction((tx) => tx.ports.insert(port({ service: 'orders', protocol: 'udp' })));
    await store.transaction((tx) => tx.ports.insert(port({ service: 'orders', state: 'rejected' })));
    await store.close();
  });

  kind.it('holds both numbers of a transition and frees them on release; one live record per port', async () => {
    const store = await (await kind.fresh()).open();
    const row = await store.transaction((tx) => tx.ports.insert(port()));
    await store.transaction((tx) => tx.ports.update({ ...row, state: 'transitioning', transition: { to: 20002, windowEndsAt: 10 } }));
    expect((await store.read((tx) => tx.ports.transitionsEndingBy(10))).map((r) => r.id)).toEqual([row.id]);
    expect(await store.read((tx) => tx.ports.transitionsEndingBy(9))).toEqual([]);
    await expect(store.transaction((tx) => tx.ports.insert(port({ service: 'orders', number: 20002 })))).rejects.toMatchObject({ code: 'port_taken' });
    await expect(store.transaction((tx) => tx.ports.insert(port({ number: 20005 })))).rejects.toMatchObject({ code: 'conflict' });

    await store.transaction((tx) => tx.ports.update({ ...row, state: 'released', releasedAt: 20, transition: null }));
    await store.transaction((tx) => tx.ports.insert(port({ service: 'orders', number: 20002 })));
    await store.transaction((tx) => tx.ports.insert(port({ service: 'web', number: 20001 })));
    await store.transaction((tx) => tx.ports.insert(port({ number: 20009 }))); // asking again after a release
    await store.close();
  });
});

import { describe, expect } from 'vitest';
import { storeKinds } from '../../../helpers/stores.ts';

describe.each(storeKinds())('the $name store', (kind) => {
  kind.it('applies every migration', async () => {
    const store = await (await kind.fresh()).open();
    expect(await store.schemaVersion()).toBe(kind.migrations.at(-1)?.version);
    await store.close();
    await store.close(); // idempotent
  });

  kind.it('keeps the change index across reopen and never hands one out twice', async () => {
    const location = await kind.fresh();
    let store = await location.open();
    const first = await Promise.all([1, 2, 3].map(() => store.transaction((tx) => tx.index.bump('payments'))));
    expect(first.sort((a, b) => a - b)).toEqual([2, 3, 4]); // an empty store is at 1, never 0 (see the migration)
    await store.close();
    store = await location.open();
    expect(await store.read((tx) => tx.index.current())).toBe(4);
    expect(await store.transaction((tx) => tx.index.bump('orders'))).toBe(5);
    expect(await store.read((tx) => tx.index.ofService('payments'))).toBe(4);
    expect(await store.read((tx) => tx.index.ofService('never-changed'))).toBe(0);
  });

  kind.it('rolls a failed transaction back whole', async () => {
    const store = await (await kind.fresh()).open();
    await expect(
      store.transaction(async (tx) => {
        await tx.index.bump('payments');
        await tx.audit.append({ at: 1, actor: 'a', action: 'x', target: 't', before: null, after: null });
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await store.read((tx) => tx.index.current())).toBe(1);
    expect(await store.read((tx) => tx.audit.query({ limit: 10 }))).toEqual([]);
  });

  kind.it('applies a migration appended later, and refuses a database newer than the code', async () => {
    const location = await kind.fresh();
    await (await location.open()).close();
    const next = { version: 999, name: 'test table', sql: 'CREATE TABLE later (id INTEGER PRIMARY KEY);' };
    const upgraded = await location.open([...kind.migrations, next]);
    expect(await upgraded.schemaVersion()).toBe(999);
    await upgraded.close();
    await expect(location.open()).rejects.toMatchObject({ code: 'unavailable' });
  });

  kind.it('refuses work after close with a code', async () => {
    const store = await (await kind.fresh()).open();
    await store.close();
    await expect(store.read((tx) => tx.index.current())).rejects.toMatchObject({ code: 'unavailable' });
  });

  kind.it('reads back every BIGINT as a number, JSON as values, and audit entries in order with a prefix filter', async () => {
    const store = await (await kind.fresh()).open();
    const at = Date.UTC(2026, 0, 1);
    await store.transaction(async (tx) => {
      await tx.audit.append({ at, actor: 'a', action: 'license.issued', target: 'license/l_1', before: null, after: { z: 1, a: [1, 2] } });
      await tx.audit.append({ at: at + 1, actor: 'b', action: 'license.revoked', target: 'license/l_1', before: { z: 1 }, after: null });
      await tx.audit.append({ at: at + 2, actor: 'a', action: 'token.created', target: 'token/x_y', before: null, after: null });
      await tx.audit.append({ at: at + 3, actor: 'a', action: 'token.created', target: 'tokenXx_y', before: null, after: null });
    });
    const all = await store.read((tx) => tx.audit.query({ limit: 10 }));
    expect(all.map((e) => [typeof e.id, e.at, e.action])).toEqual([
      ['number', at, 'license.issued'],
      ['number', at + 1, 'license.revoked'],
      ['number', at + 2, 'token.created'],
      ['number', at + 3, 'token.created'],
    ]);
    expect(JSON.stringify(all[0]?.after)).toBe('{"z":1,"a":[1,2]}'); // keys as written
    expect((await store.read((tx) => tx.audit.query({ target: 'token/*', limit: 10 }))).map((e) => e.target)).toEqual(['token/x_y']);
    expect((await store.read((tx) => tx.audit.query({ actor: 'a', limit: 2 }))).map((e) => e.at)).toEqual([at + 2, at + 3]);
    expect(await store.transaction((tx) => tx.telemetry.claimBatch('payments', 'b1', at))).toBe(true);
    expect(await store.transaction((tx) => tx.telemetry.claimBatch('payments', 'b1', at))).toBe(false);
    expect(await store.transaction((tx) => tx.telemetry.pruneBatches(at + 1))).toBe(1);
  });

  kind.it("keeps each token's role, a viewer's too, and counts only active admins as admins", async () => {
    const store = await (await kind.fresh()).open();
    const token = (id: string, role: 'admin' | 'viewer' | 'sidecar', service: string | null = null) => ({ id, name: `${role} token`, role, service, hash: Buffer.alloc(32, id), createdAt: 1, createdBy: 'test', revokedAt: null });
    await store.transaction(async (tx) => {
      await tx.tokens.insert(token('a1', 'admin'));
      await tx.tokens.insert(token('v1', 'viewer'));
      await tx.tokens.insert(token('s1', 'sidecar', 'payments'));
    });
    expect((await store.read((tx) => tx.tokens.list())).map((t) => [t.id, t.role, t.service])).toEqual([
      ['a1', 'admin', null],
      ['s1', 'sidecar', 'payments'],
      ['v1', 'viewer', null],
    ]);
    // a viewer never stands in for the bootstrap admin: with the admin revoked, none is active
    await store.transaction((tx) => tx.tokens.revoke('a1', 2));
    expect(await store.read((tx) => tx.tokens.countActiveAdmins())).toBe(0);
    expect(await store.read((tx) => tx.tokens.get('v1'))).toMatchObject({ role: 'viewer', revokedAt: null });
  });

  kind.it('runs exclusive work and reports it ran', async () => {
    const store = await (await kind.fresh()).open();
    let ran = 0;
    expect(await store.exclusive('sweep', async () => void ran++)).toBe(true);
    expect(ran).toBe(1);
  });
});

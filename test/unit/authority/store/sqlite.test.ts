import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteStore, sqliteFileName } from '../../../../src/authority/store/sqlite.ts';
import { migrations } from '../../../../src/authority/store/migrations.ts';
import { tempDir } from '../../../helpers/tmp.ts';

describe('SqliteStore', () => {
  it('creates the database 0600 and applies every migration', async () => {
    const dir = await tempDir();
    const store = SqliteStore.open({ dataDir: dir });
    expect(await store.schemaVersion()).toBe(migrations.at(-1)?.version);
    expect(statSync(join(dir, sqliteFileName)).mode & 0o777).toBe(0o600);
    await store.close();
    await store.close(); // idempotent
  });

  it('keeps the change index across reopen and never hands one out twice', async () => {
    const dir = await tempDir();
    let store = SqliteStore.open({ dataDir: dir });
    const first = await Promise.all([1, 2, 3].map(() => store.transaction((tx) => tx.index.bump('payments'))));
    expect(first).toEqual([2, 3, 4]); // an empty store is at 1, never 0 (see the migration)
    await store.close();
    store = SqliteStore.open({ dataDir: dir });
    expect(await store.read((tx) => tx.index.current())).toBe(4);
    expect(await store.transaction((tx) => tx.index.bump('orders'))).toBe(5);
    expect(await store.read((tx) => tx.index.ofService('payments'))).toBe(4);
    expect(await store.read((tx) => tx.index.ofService('never-changed'))).toBe(0);
    await store.close();
  });

  it('rolls a failed transaction back whole', async () => {
    const store = SqliteStore.open({ dataDir: await tempDir() });
    await expect(
      store.transaction(async (tx) => {
        await tx.index.bump('payments');
        await tx.audit.append({ at: 1, actor: 'a', action: 'x', target: 't', before: null, after: null });
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await store.read((tx) => tx.index.current())).toBe(1);
    expect(await store.read((tx) => tx.audit.query({ limit: 10 }))).toEqual([]);
    await store.close();
  });

  it('applies a migration appended later, and refuses a database newer than the code', async () => {
    const dir = await tempDir();
    await SqliteStore.open({ dataDir: dir }).close();
    const next = { version: 999, name: 'test table', sql: 'CREATE TABLE later (id INTEGER PRIMARY KEY) STRICT;' };
    const upgraded = SqliteStore.open({ dataDir: dir, migrations: [...migrations, next] });
    expect(await upgraded.schemaVersion()).toBe(999);
    await upgraded.close();
    expect(() => SqliteStore.open({ dataDir: dir })).toThrow(expect.objectContaining({ code: 'unavailable' }));
  });

  it('refuses work after close with a code', async () => {
    const store = SqliteStore.open({ dataDir: await tempDir() });
    await store.close();
    await expect(store.read((tx) => tx.index.current())).rejects.toMatchObject({ code: 'unavailable' });
  });
});

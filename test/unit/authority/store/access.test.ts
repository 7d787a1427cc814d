import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it, onTestFinished } from 'vitest';
import { migrations } from '../../../../src/authority/store/sqlite/migrations.ts';
import { SqliteStore, sqliteFileName } from '../../../../src/authority/store/sqlite/store.ts';
import type { AccessInput } from '../../../../src/authority/store/access.ts';
import { lastAccessByPort } from '../../../../src/authority/access/last-access.ts';
import { storeKinds } from '../../../helpers/stores.ts';
import { tempDir } from '../../../helpers/tmp.ts';

function input(overrides: Partial<AccessInput> = {}): AccessInput {
  return {
    service: 'payments',
    port: 'api',
    identity: 'spiffe://corp/sa/a',
    origin: '10.0.0.1',
    count: 1,
    bytesIn: 10,
    bytesOut: 100,
    firstAccessAt: 1_000,
    lastAccessAt: 2_000,
    decision: 'allow',
    reason: null,
    ...overrides,
  };
}

async function open(dataDir: string, list = migrations): Promise<SqliteStore> {
  const store = SqliteStore.open({ dataDir, migrations: list });
  onTestFinished(() => store.close());
  return store;
}

describe('access totals in SQLite', () => {
  it('carries totals written before version 3 over, as admitted accesses', async () => {
    const dir = await tempDir();
    // a database as version 1 left it (the store itself only opens at the current schema)
    const db = new DatabaseSync(join(dir, sqliteFileName));
    db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    db.exec(migrations.find((m) => m.version === 1)?.sql ?? '');
    db.exec("INSERT INTO schema_migrations VALUES (1, 'v1', 0)");
    const insert = db.prepare('INSERT INTO access_last (service, port, identity, origin, last_access_at, count) VALUES (?, ?, ?, ?, ?, ?)');
    insert.run('payments', 'api', 'spiffe://a', '10.0.0.1', 5_000, 3);
    insert.run('payments', 'api', '', '10.0.0.2', 7_000, 2);
    db.close();

    const store = await open(dir);
    const port = await store.read((tx) => lastAccessByPort(tx, 'payments', 'api'));
    expect(port).toEqual({
      service: 'payments',
      port: 'api',
      count: 5,
      bytesIn: 0,
      bytesOut: 0,
      firstAccessAt: 5_000,
      lastAccessAt: 7_000,
      lastDecision: 'allow',
      lastReason: null,
      lastAllowedAt: 7_000,
    });
    const callers = await store.read((tx) => tx.access.callers({ service: 'payments', limit: 10 }));
    expect(callers.map((c) => [c.identity, c.origin, c.count, c.firstAccessAt, c.lastAccessAt])).toEqual([
      [null, '10.0.0.2', 2, 7_000, 7_000],
      ['spiffe://a', '10.0.0.1', 3, 5_000, 5_000],
    ]);
    // and new records add to them
    await store.transaction((tx) => tx.access.record(input({ identity: 'spiffe://a', count: 1, firstAccessAt: 4_000, lastAccessAt: 8_000 })));
    expect(await store.read((tx) => lastAccessByPort(tx, 'payments', 'api'))).toMatchObject({ count: 6, firstAccessAt: 4_000, lastAccessAt: 8_000 });
  });
});

describe.each(storeKinds())('access totals in the $name store', (kind) => {
  kind.it('keeps a port refused since its last admitted access apart, and port totals when old callers are pruned', async () => {
    const store = await (await kind.fresh()).open();
    await store.transaction(async (tx) => {
      await tx.access.record(input({ lastAccessAt: 2_000 }));
      await tx.access.record(input({ identity: null, origin: '10.0.0.9', decision: 'deny', reason: 'no_identity', firstAccessAt: 3_000, lastAccessAt: 9_000 }));
      // an older refusal changes neither the latest decision nor the last admitted access
      await tx.access.record(input({ decision: 'deny', reason: 'expired', firstAccessAt: 500, lastAccessAt: 1_500 }));
    });
    const port = await store.read((tx) => tx.access.port('payments', 'api'));
    expect(port).toMatchObject({ count: 3, firstAccessAt: 500, lastAccessAt: 9_000, lastDecision: 'deny', lastReason: 'no_identity', lastAllowedAt: 2_000 });
    const caller = await store.read((tx) => tx.access.callers({ service: 'payments', ports: ['api'], limit: 10 }));
    expect(caller.find((c) => c.origin === '10.0.0.1')).toMatchObject({ count: 2, bytesIn: 20, lastDecision: 'allow', lastReason: null });

    expect(await store.transaction((tx) => tx.access.pruneCallers(5_000))).toBe(1);
    expect((await store.read((tx) => tx.access.callers({ limit: 10 }))).map((c) => c.origin)).toEqual(['10.0.0.9']);
    expect(await store.read((tx) => tx.access.port('payments', 'api'))).toEqual(port);
    expect(await store.read((tx) => tx.access.ports())).toEqual([port]);
    expect(await store.read((tx) => tx.access.port('payments', 'other'))).toBeUndefined();
  });
});

import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteStore, sqliteFileName } from '../../../../src/authority/store/sqlite/store.ts';
import { migrations } from '../../../../src/authority/store/sqlite/migrations.ts';
import { tempDir } from '../../../helpers/tmp.ts';

describe('SqliteStore', () => {
  it('creates the database 0600', async () => {
    const dir = await tempDir();
    const store = SqliteStore.open({ dataDir: dir });
    expect(await store.schemaVersion()).toBe(migrations.at(-1)?.version);
    expect(statSync(join(dir, sqliteFileName)).mode & 0o777).toBe(0o600);
    await store.close();
    await store.close(); // idempotent
  });
});

import { it, onTestFinished } from 'vitest';
import type { Migration } from '../../src/authority/store/migration.ts';
import { migrations as sqliteMigrations } from '../../src/authority/store/sqlite/migrations.ts';
import { PostgresStore } from '../../src/authority/store/postgres/store.ts';
import { postgresMigrations } from '../../src/authority/store/postgres/migrations.ts';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Client } from 'pg';
import { sqliteFileName, SqliteStore } from '../../src/authority/store/sqlite/store.ts';
import type { Store } from '../../src/authority/store/store.ts';
import { freshPostgresUrl, warnIfNoPostgres, withPostgres } from './postgres.ts';
import { tempDir } from './tmp.ts';

/** Where one store lives (a data dir, a database); `open` opens a store on it, again and again. */
export interface StoreLocation {
  open(migrations?: readonly Migration[]): Promise<Store>;
  /** Runs SQL on it behind the store's back, as someone with access to the database could. */
  exec(sql: string): Promise<void>;
}

/** One implementation of the storage seam, for tests that every store must pass. */
export interface StoreKind {
  name: 'sqlite' | 'postgres';
  /** Its schema as shipped. */
  migrations: readonly Migration[];
  /** `it`, or a skipping one when the store cannot run here (see `./postgres.ts`). */
  it: typeof it | typeof it.skip;
  /** A new empty location; stores opened on it are closed when the test finishes. */
  fresh(): Promise<StoreLocation>;
}

export const sqliteKind: StoreKind = {
  name: 'sqlite',
  migrations: sqliteMigrations,
  it,
  async fresh() {
    const dataDir = await tempDir();
    return {
      async open(migrations) {
        const store = SqliteStore.open({ dataDir, ...(migrations ? { migrations } : {}) });
        onTestFinished(() => store.close());
        return store;
      },
      async exec(sql) {
        const db = new DatabaseSync(join(dataDir, sqliteFileName));
        try {
          db.exec(sql);
        } finally {
          db.close();
        }
      },
    };
  },
};

export const postgresKind: StoreKind = {
  name: 'postgres',
  migrations: postgresMigrations,
  it: withPostgres,
  async fresh() {
    const url = await freshPostgresUrl();
    return {
      async open(migrations) {
        const store = await PostgresStore.open({ url, ...(migrations ? { migrations } : {}) });
        onTestFinished(() => store.close());
        return store;
      },
      async exec(sql) {
        const client = new Client({ connectionString: url });
        await client.connect();
        try {
          await client.query(sql);
        } finally {
          await client.end();
        }
      },
    };
  },
};

/** Both stores, for `describe.each`; prints once why PostgreSQL is skipped when it is. */
export function storeKinds(): StoreKind[] {
  warnIfNoPostgres();
  return [sqliteKind, postgresKind];
}

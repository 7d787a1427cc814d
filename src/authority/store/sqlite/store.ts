import { closeSync, mkdirSync, openSync, chmodSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { systemClock, type Clock } from '../../../shared/clock.ts';
import { PortwardenError } from '../../../shared/errors.ts';
import type { Migration } from '../migration.ts';
import { migrations as defaultMigrations } from './migrations.ts';
import type { Store, StoreTx } from '../store.ts';
import { int } from '../columns.ts';
import { sqliteAccess } from './access.ts';
import { sqliteAudit } from './audit.ts';
import { sqliteDrills } from './drills.ts';
import { sqliteIndex } from './change-index.ts';
import { sqliteInventory } from './inventory.ts';
import { sqliteKeys } from './keys.ts';
import { sqliteLicenses } from './licenses.ts';
import { sqlitePorts } from './ports.ts';
import { sqliteTelemetry } from './telemetry.ts';
import { sqliteTokens } from './tokens.ts';

/** The database file inside `data_dir`. */
export const sqliteFileName = 'authority.db';

export interface SqliteStoreOptions {
  dataDir: string;
  /** The schema; tests pass a longer list to exercise upgrades. */
  migrations?: readonly Migration[];
  /** Stamps `applied_at` of migrations. */
  clock?: Clock;
}

/**
 * The embedded store: one `node:sqlite` connection in WAL mode. `DatabaseSync` is synchronous
 * but transactions span awaits (signing), so every transaction and read runs one at a time
 * through a queue; `BEGIN IMMEDIATE` also keeps a second process from writing under us.
 */
export class SqliteStore implements Store {
  readonly path: string;
  readonly target = 'sqlite';
  readonly #db: DatabaseSync;
  readonly #repos: StoreTx;
  /** The file opened, to tell it from another one at the same path later (`probe`). */
  readonly #opened: Pick<Stats, 'dev' | 'ino'>;
  #queue: Promise<unknown> = Promise.resolve();
  #closing: Promise<void> | undefined;

  private constructor(path: string, db: DatabaseSync) {
    this.path = path;
    this.#db = db;
    this.#opened = statSync(path);
    this.#repos = {
      index: sqliteIndex(db),
      keys: sqliteKeys(db),
      licenses: sqliteLicenses(db),
      tokens: sqliteTokens(db),
      audit: sqliteAudit(db),
      telemetry: sqliteTelemetry(db),
      access: sqliteAccess(db),
      inventory: sqliteInventory(db),
      ports: sqlitePorts(db),
      drills: sqliteDrills(db),
    };
  }

  /** Opens (creating 0600 if needed) `<dataDir>/authority.db` and brings its schema up to date. */
  static open(options: SqliteStoreOptions): SqliteStore {
    mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    const path = join(options.dataDir, sqliteFileName);
    // the file holds the private signing keys: create it 0600 before SQLite does (its WAL
    // and shm files copy the database file's mode)
    closeSync(openSync(path, 'a', 0o600));
    chmodSync(path, 0o600);
    const db = new DatabaseSync(path, { timeout: 5_000 });
    try {
      db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;');
      migrate(db, options.migrations ?? defaultMigrations, options.clock ?? systemClock);
      return new SqliteStore(path, db);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.#serial(async () => {
      this.#db.exec('BEGIN IMMEDIATE');
      try {
        const result = await fn(this.#repos);
        this.#db.exec('COMMIT');
        return result;
      } catch (err) {
        if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
        throw err;
      }
    });
  }

  read<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.#serial(() => fn(this.#repos));
  }

  /** One process owns the file (`BEGIN IMMEDIATE` keeps others from writing): nobody else announces changes. */
  onChange(): () => void {
    return () => undefined;
  }

  /** As `onChange`: every register write comes through this process. */
  onRegisterChange(): () => void {
    return () => undefined;
  }

  /** Runs `fn`: one process, so nobody else does the same work. */
  async exclusive(_name: string, fn: () => Promise<void>): Promise<boolean> {
    await fn();
    return true;
  }

  async schemaVersion(): Promise<number> {
    return this.#serial(async () => currentVersion(this.#db));
  }

  /**
   * The file at `path` must still be the one open (a removed `data_dir` leaves this connection
   * writing to a file nobody will read again), keep its owner's write permission (root writes
   * regardless, but the next start would not be trusted to), and take a write.
   */
  probe(): Promise<void> {
    return this.#serial(async () => {
      let now: Stats;
      try {
        now = statSync(this.path);
      } catch (err) {
        throw new PortwardenError('unavailable', `${this.path} is gone (${(err as NodeJS.ErrnoException).code ?? 'unreadable'}); restore data_dir and restart the authority`);
      }
      if (now.ino !== this.#opened.ino || now.dev !== this.#opened.dev) {
        throw new PortwardenError('unavailable', `${this.path} was replaced by another file; restart the authority to open it`);
      }
      if ((now.mode & 0o200) === 0) throw new PortwardenError('unavailable', `${this.path} is read-only (mode 0${(now.mode & 0o777).toString(8)})`);
      try {
        this.#db.exec('BEGIN IMMEDIATE');
        this.#db.prepare("INSERT INTO meta (key, value) VALUES ('ready_probe', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value").run(Date.now());
        this.#db.exec('COMMIT');
      } catch (cause) {
        if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
        throw new PortwardenError('unavailable', `${this.path} refuses writes: ${(cause as Error).message}`, { cause });
      }
    });
  }

  /** Waits for queued work, then closes the connection. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#queue.then(() => {
      this.#db.close();
    });
    return this.#closing;
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#closing) return Promise.reject(new PortwardenError('unavailable', 'the store is closed'));
    const run = this.#queue.then(fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}

function currentVersion(db: DatabaseSync): number {
  return int(db.prepare('SELECT coalesce(max(version), 0) AS v FROM schema_migrations').get()?.v ?? 0);
}

/** Applies every migration above the stored version, each in its own transaction. */
function migrate(db: DatabaseSync, list: readonly Migration[], clock: Clock): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  const known = Math.max(0, ...list.map((m) => m.version));
  const at = currentVersion(db);
  if (at > known) {
    throw new PortwardenError('unavailable', `the store is at schema version ${at}, newer than this portwarden knows (${known}); upgrade portwarden`);
  }
  for (const migration of [...list].sort((a, b) => a.version - b.version)) {
    if (migration.version <= at) continue;
    db.exec('BEGIN IMMEDIATE');
    try {
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(migration.version, migration.name, clock.now());
      db.exec('COMMIT');
    } catch (cause) {
      db.exec('ROLLBACK');
      throw new PortwardenError('internal', `migration ${migration.version} (${migration.name}) failed: ${(cause as Error).message}`, { cause });
    }
  }
}

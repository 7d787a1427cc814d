import { Client, types, type Pool, type ClientBase, type CustomTypesConfig, type Notification, type PoolClient } from 'pg';
import { systemClock, type Clock } from '../../../shared/clock.ts';
import { PortwardenError } from '../../../shared/errors.ts';
import type { Logger } from '../../../shared/logger.ts';
import type { Migration } from '../migration.ts';
import { postgresMigrations } from './migrations.ts';
import { openPool } from './pool.ts';
import { postgresAccess } from './access.ts';
import { postgresAudit } from './audit.ts';
import { postgresDrills } from './drills.ts';
import { changeChannel, postgresIndex } from './change-index.ts';
import { postgresInventory } from './inventory.ts';
import { postgresKeys } from './keys.ts';
import { postgresLicenses } from './licenses.ts';
import { postgresPorts } from './ports.ts';
import { int, sqlOf } from './sql.ts';
import { postgresTelemetry } from './telemetry.ts';
import { postgresTokens } from './tokens.ts';
import type { ChangeListener, Store, StoreTx } from '../store.ts';

export interface PostgresStoreOptions {
  /** `storage.url`: `postgres://user:password@host:5432/database`. */
  url: string;
  /** The schema; tests pass a longer list to exercise upgrades. */
  migrations?: readonly Migration[];
  /** Stamps `applied_at` of migrations. */
  clock?: Clock;
  /** Where lost connections and re-connects of the change listener are logged. */
  logger?: Logger;
  /** Pooled connections at most (`storage.pool_size`, default 10). */
  maxConnections?: number;
  /** Gives up connecting after this long (default 10s). */
  connectTimeoutMs?: number;
}

/**
 * Advisory lock keys, `(space, key)` pairs. They are per database, so authorities on other
 * databases of one server do not contend. The space spells "pw" + 0x7400.
 */
const lockSpace = 0x7077_7400;
const writeLock = 1;
const migrateLock = 2;
/** `exclusive(name)` locks `(sweepSpace, hashtext(name))`. */
const sweepSpace = lockSpace + 1;

/** BIGINT (oid 20) as a number: every BIGINT portwarden stores (ms times, counts, indexes) is far below 2^53. */
const int8Oid = 20;
function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new RangeError(`a BIGINT column holds ${text}, beyond what a number holds exactly`);
  return value;
}
/** Per pool and client, so other users of `pg` in the process keep their parsers. */
const typeParsers = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === int8Oid && format !== 'binary' ? parseInt8 : types.getTypeParser(oid, format)) as CustomTypesConfig['getTypeParser'],
};

/** Re-connect delays of the change listener: doubling from the first to the last. */
const listenBackoffMs = { first: 100, max: 5_000 };

/**
 * The shared store: a node-postgres pool over one database, for several authorities at once.
 *
 * - A write (`transaction`) takes a transaction-scoped advisory lock first, so writes run one at
 *   a time across every authority, as SQLite's `BEGIN IMMEDIATE` makes them within one file:
 *   the change index stays gap-free and grows in commit order. READ COMMITTED is right under
 *   that lock: each statement's snapshot is taken after the lock is held, so it sees every
 *   earlier writer's commit (REPEATABLE READ would fix the snapshot before the lock wait).
 * - A read is one REPEATABLE READ READ ONLY transaction: a consistent snapshot.
 * - `index.bump` and every port write queue a `pg_notify`, delivered at commit; one dedicated
 *   LISTEN connection hears other authorities' changes and re-connects with back-off (see
 *   `onChange`, `onRegisterChange`).
 * - Migrations run at open under a session advisory lock, so authorities starting together
 *   do not race, and a schema newer than this code is refused.
 */
export class PostgresStore implements Store {
  /** `storage.url` without its password, for logs and errors. */
  readonly target: string;
  readonly #url: string;
  readonly #pool: Pool;
  readonly #logger: Logger | undefined;
  readonly #connectTimeoutMs: number;
  /** Tells this store's own notifications from other authorities'. */
  readonly #origin = `${process.pid}-${Math.random().toString(36).slice(2)}`;
  readonly #work = new Set<Promise<unknown>>();
  readonly #listeners = new Set<ChangeListener>();
  readonly #registerListeners = new Set<() => void>();
  #listen: { client: Client | undefined; connecting: Promise<void> | undefined; retry: NodeJS.Timeout | undefined; delayMs: number; seen: number } | undefined;
  #closing: Promise<void> | undefined;

  private constructor(url: string, target: string, pool: Pool, options: PostgresStoreOptions) {
    this.#url = url;
    this.target = target;
    this.#pool = pool;
    this.#logger = options.logger;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  }

  /**
   * Connects to `url` and brings the schema up to date. Refuses a URL that does not parse
   * (`config_invalid`) and a server it cannot reach or log in to (`unavailable`), naming
   * `storage.url` without its password.
   */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const target = redactedUrl(options.url);
    const pool = openPool(
      { connectionString: options.url, max: options.maxConnections ?? 10, connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000, application_name: 'portwarden-authority', types: typeParsers },
      options.logger,
      target,
    );
    const store = new PostgresStore(options.url, target, pool, options);
    try {
      await migrate(pool, options.migrations ?? postgresMigrations, options.clock ?? systemClock);
      return store;
    } catch (err) {
      await pool.end().catch(() => undefined);
      // a refused schema or a failed migration: say which database
      if (err instanceof PortwardenError) throw new PortwardenError(err.code, `storage.url: PostgreSQL at ${target}: ${err.message}`, { cause: err });
      throw new PortwardenError('unavailable', `storage.url: cannot open PostgreSQL at ${target}: ${describe(err)}`, { cause: err });
    }
  }

  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.#run((client) => inTransaction(client, 'BEGIN', fn, this.#origin, async () => {
      await client.query('SELECT pg_advisory_xact_lock($1, $2)', [lockSpace, writeLock]);
    }));
  }

  read<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return this.#run((client) => inTransaction(client, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', fn, this.#origin));
  }

  async schemaVersion(): Promise<number> {
    return this.#run(async (client) => int((await client.query('SELECT coalesce(max(version), 0) AS v FROM schema_migrations')).rows[0]?.v ?? 0));
  }

  /** One round trip on a pooled connection; a server that only reads (a standby) does not count as ready. */
  async probe(): Promise<void> {
    const readOnly = await this.#run(async (client) => (await client.query("SELECT current_setting('transaction_read_only') AS ro")).rows[0]?.ro === 'on').catch((cause: unknown) => {
      if (cause instanceof PortwardenError) throw cause;
      throw new PortwardenError('unavailable', `PostgreSQL at ${this.target} failed: ${describe(cause)}`, { cause });
    });
    if (readOnly) throw new PortwardenError('unavailable', `PostgreSQL at ${this.target} is read-only (a standby?)`);
  }

  /**
   * Hears other authorities' changes. The first listener starts the LISTEN connection. After
   * that connection was lost and comes back, every service whose change index moved past the
   * last one heard is announced again, so nothing missed in between stays asleep.
   */
  onChange(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    this.#startListening();
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Hears other authorities' register writes on the same LISTEN connection; a re-connect announces one too. */
  onRegisterChange(listener: () => void): () => void {
    this.#registerListeners.add(listener);
    this.#startListening();
    return () => {
      this.#registerListeners.delete(listener);
    };
  }

  #startListening(): void {
    if (this.#listen || this.#closing) return;
    this.#listen = { client: undefined, connecting: undefined, retry: undefined, delayMs: listenBackoffMs.first, seen: -1 };
    this.#connectListener();
  }

  /** Runs `fn` while holding a session advisory lock named `name`; skips (false) when another authority holds it. */
  exclusive(name: string, fn: () => Promise<void>): Promise<boolean> {
    return this.#run(async (client) => {
      const got = await client.query('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [sweepSpace, name]);
      if (got.rows[0]?.ok !== true) return false;
      try {
        await fn();
        return true;
      } finally {
        // a connection that cannot unlock is discarded, which ends its session and so the lock
        await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [sweepSpace, name]).catch(() => inDoubt.add(client));
      }
    });
  }

  /** Waits for work in progress, then ends the LISTEN connection and the pool. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#listeners.clear();
      this.#registerListeners.clear();
      const listen = this.#listen;
      if (listen) {
        clearTimeout(listen.retry);
        await listen.connecting;
        await listen.client?.end().catch(() => undefined);
      }
      await Promise.allSettled([...this.#work]);
      await this.#pool.end();
    })();
    return this.#closing;
  }

  /**
   * Runs `fn` on a pooled connection. A connection left in doubt (a ROLLBACK or an unlock that
   * failed, or one the server ended while it was in use) is discarded, not reused; the pool
   * itself drops the ones that broke while idle.
   */
  #run<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    if (this.#closing) return Promise.reject(new PortwardenError('unavailable', 'the store is closed'));
    const work = (async () => {
      let client: PoolClient;
      try {
        client = await this.#pool.connect();
      } catch (cause) {
        throw new PortwardenError('unavailable', `PostgreSQL at ${this.target} is unreachable: ${describe(cause)}`, { cause });
      }
      // a checked-out connection has no listener of the pool's: a server that ends it between
      // queries (a restart, an administrator) would otherwise raise an uncaught 'error'
      const onError = (err: Error) => {
        inDoubt.add(client);
        this.#logger?.warn({ err, storage: this.target }, 'a PostgreSQL connection in use failed; it is discarded');
      };
      client.on('error', onError);
      try {
        return await fn(client);
      } finally {
        client.off('error', onError);
        client.release(inDoubt.has(client));
      }
    })();
    this.#work.add(work);
    void work.catch(() => undefined).finally(() => this.#work.delete(work));
    return work;
  }

  #connectListener(): void {
    const listen = this.#listen;
    if (!listen || this.#closing) return;
    const client = new Client({ connectionString: this.#url, application_name: 'portwarden-authority-listen', types: typeParsers, connectionTimeoutMillis: this.#connectTimeoutMs });
    let lost = false;
    const onLost = (err?: Error) => {
      if (lost) return;
      lost = true;
      if (listen.client === client) listen.client = undefined;
      void client.end().catch(() => undefined);
      if (this.#closing) return;
      this.#logger?.warn({ err, storage: this.target, retry_ms: listen.delayMs }, 'the PostgreSQL change listener lost its connection; re-connecting');
      listen.retry = setTimeout(() => this.#connectListener(), listen.delayMs);
      listen.delayMs = Math.min(listen.delayMs * 2, listenBackoffMs.max);
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', (message) => this.#heard(message));
    listen.connecting = (async () => {
      try {
        await client.connect();
        await client.query(`LISTEN ${changeChannel}`);
      } catch (err) {
        onLost(err as Error);
        return;
      }
      if (this.#closing) {
        await client.end().catch(() => undefined);
        return;
      }
      listen.client = client;
      listen.delayMs = listenBackoffMs.first;
      try {
        // listening now: announce what moved since the last index heard (nothing on the first connect)
        const sql = sqlOf(client);
        if (listen.seen < 0) listen.seen = await postgresIndex(sql, this.#origin).current();
        else {
          for (const row of await sql.all('SELECT service, change_index FROM service_index WHERE change_index > $1 ORDER BY change_index', [listen.seen])) {
            this.#announce(String(row.service), int(row.change_index));
          }
          // register writes leave no index to compare: say one may have been missed
          this.#announceRegister();
        }
      } catch (err) {
        onLost(err as Error);
      }
    })();
  }

  #heard(message: Notification): void {
    if (message.channel !== changeChannel || message.payload === undefined) return;
    let change: { o?: unknown; s?: unknown; i?: unknown; r?: unknown };
    try {
      change = JSON.parse(message.payload) as typeof change;
    } catch {
      return;
    }
    if (change.r === 1) {
      if (change.o !== this.#origin) this.#announceRegister();
      return;
    }
    if (typeof change.s !== 'string' || typeof change.i !== 'number') return;
    if (change.o === this.#origin) {
      this.#noteSeen(change.i);
      return;
    }
    this.#announce(change.s, change.i);
  }

  #announce(service: string, index: number): void {
    this.#noteSeen(index);
    for (const listener of [...this.#listeners]) {
      try {
        listener(service, index);
      } catch (err) {
        this.#logger?.error({ err, service, index }, 'a change listener failed');
      }
    }
  }

  #announceRegister(): void {
    for (const listener of [...this.#registerListeners]) {
      try {
        listener();
      } catch (err) {
        this.#logger?.error({ err }, 'a register change listener failed');
      }
    }
  }

  #noteSeen(index: number): void {
    if (this.#listen && index > this.#listen.seen) this.#listen.seen = index;
  }
}

/** One transaction on `client`: BEGIN, `prepare`, `fn` with repositories bound to it, COMMIT (ROLLBACK when anything throws). */
async function inTransaction<T>(client: ClientBase, begin: string, fn: (tx: StoreTx) => Promise<T>, origin: string, prepare?: () => Promise<void>): Promise<T> {
  await client.query(begin);
  try {
    await prepare?.();
    const result = await fn(repositories(client, origin));
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => inDoubt.add(client));
    throw err;
  }
}

/** Connections whose state is unknown after a failure: `#run` discards them instead of pooling them again. */
const inDoubt = new WeakSet<ClientBase>();

function repositories(client: ClientBase, origin: string): StoreTx {
  const sql = sqlOf(client);
  return {
    index: postgresIndex(sql, origin),
    keys: postgresKeys(sql),
    licenses: postgresLicenses(sql),
    tokens: postgresTokens(sql),
    audit: postgresAudit(sql),
    telemetry: postgresTelemetry(sql),
    access: postgresAccess(sql),
    inventory: postgresInventory(sql),
    ports: postgresPorts(sql, origin),
    drills: postgresDrills(sql),
  };
}

/** Applies every migration above the stored version, each in its own transaction, under a session advisory lock. */
async function migrate(pool: Pool, list: readonly Migration[], clock: Clock): Promise<void> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('SELECT pg_advisory_lock($1, $2)', [lockSpace, migrateLock]);
    try {
      await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
      const known = Math.max(0, ...list.map((m) => m.version));
      const at = int((await client.query('SELECT coalesce(max(version), 0) AS v FROM schema_migrations')).rows[0]?.v ?? 0);
      if (at > known) {
        throw new PortwardenError('unavailable', `the store is at schema version ${at}, newer than this portwarden knows (${known}); upgrade portwarden`);
      }
      for (const migration of [...list].sort((a, b) => a.version - b.version)) {
        if (migration.version <= at) continue;
        await client.query('BEGIN');
        try {
          await client.query(migration.sql);
          await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [migration.version, migration.name, clock.now()]);
          await client.query('COMMIT');
        } catch (cause) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw new PortwardenError('internal', `migration ${migration.version} (${migration.name}) failed: ${(cause as Error).message}`, { cause });
        }
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1, $2)', [lockSpace, migrateLock]).catch((err: Error) => {
        broken = err;
      });
    }
  } finally {
    client.release(broken);
  }
}

/**
 * `url` with the password (and a `password` query parameter) taken out. Refuses what does not
 * parse as a URL, naming `storage.url`.
 */
export function redactedUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new PortwardenError('config_invalid', 'storage.url: not a valid postgres:// URL', { cause });
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new PortwardenError('config_invalid', `storage.url: must be a postgres:// or postgresql:// URL, not ${parsed.protocol}//`);
  }
  parsed.password = '';
  parsed.searchParams.delete('password');
  return parsed.toString();
}

/** A connection failure in words: `ECONNREFUSED 127.0.0.1:5432`, the server's message, or a timeout. */
function describe(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return err.errors.map(describe).join('; ');
  const e = err as { code?: unknown; message?: unknown };
  const message = typeof e.message === 'string' && e.message !== '' ? e.message : String(err);
  return typeof e.code === 'string' && !message.includes(e.code) ? `${e.code}: ${message}` : message;
}

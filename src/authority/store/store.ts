import type { AccessRepo } from './access.ts';
import type { AuditRepo } from './audit.ts';
import type { IndexRepo } from './change-index.ts';
import type { DrillRepo } from './drills.ts';
import type { InventoryRepo } from './inventory.ts';
import type { KeyRepo } from './keys.ts';
import type { LicenseRepo } from './licenses.ts';
import type { PortRepo } from './ports.ts';
import type { TelemetryRepo } from './telemetry.ts';
import type { TokenRepo } from './tokens.ts';

/**
 * The authority's storage seam. Everything the authority keeps goes through these interfaces,
 * so a PostgreSQL implementation can stand beside the embedded SQLite one. Methods are async
 * even where SQLite answers synchronously, because a network database cannot.
 *
 * A write happens inside `store.transaction(fn)`: one `BEGIN IMMEDIATE` (SQLite) or one
 * transaction that first takes a database-wide advisory lock (PostgreSQL), so writes run one at
 * a time across every process sharing the store; `fn` gets the repositories bound to it. Times
 * are milliseconds since the epoch.
 */

/** Repositories bound to one transaction (or to plain reads). New resources add a repo here. */
export interface StoreTx {
  index: IndexRepo;
  keys: KeyRepo;
  licenses: LicenseRepo;
  tokens: TokenRepo;
  audit: AuditRepo;
  telemetry: TelemetryRepo;
  access: AccessRepo;
  inventory: InventoryRepo;
  ports: PortRepo;
  drills: DrillRepo;
}

/** A service's licenses changed at `index`, committed by another process sharing the store. */
export type ChangeListener = (service: string, index: number) => void;

export interface Store {
  /** Where the state lives, for logs: `sqlite` or the PostgreSQL URL without its password. */
  readonly target: string;
  /** Runs `fn` in one write transaction; commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>;
  /** Runs reads that must not see another request's uncommitted writes. */
  read<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>;
  /**
   * Hears changes (`index.bump`) committed by other processes sharing the store, soon after
   * they commit; returns the unsubscribe. A listener may hear an index it already saw (after a
   * reconnect the store re-announces what it may have missed). SQLite: never fires.
   */
  onChange(listener: ChangeListener): () => void;
  /**
   * Hears that another process sharing the store wrote the register's ports (a request, an
   * approval, a release: changes that need not move any license's change index), soon after
   * the commit, and after a lost connection to the store came back (something may have been
   * missed); returns the unsubscribe. SQLite: never fires.
   */
  onRegisterChange(listener: () => void): () => void;
  /**
   * Runs `fn` unless another process sharing the store runs the work called `name` right now;
   * resolves true when `fn` ran, false when the round was skipped. Periodic upkeep (renewals,
   * transition and drill ends) goes through it so several authorities do it once.
   */
  exclusive(name: string, fn: () => Promise<void>): Promise<boolean>;
  /** The schema version the store is at. */
  schemaVersion(): Promise<number>;
  /**
   * A cheap check that the store can take writes now (`/readyz`): resolves, or rejects with
   * `unavailable` saying why (PostgreSQL unreachable or read-only; the SQLite file gone,
   * replaced, made read-only, or refusing a write).
   */
  probe(): Promise<void>;
  close(): Promise<void>;
}

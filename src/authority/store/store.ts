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

import type { DrillRepo } from './drills.ts';

export type LicenseState = 'active' | 'revoked' | 'expired';
export type RenewPolicy = 'auto' | 'always' | 'never';
export type Protocol = 'tcp' | 'udp';
export type TokenRole = 'admin' | 'sidecar';

/** A license as stored: the license (`lid`) and its current token (`jti`). */
export interface LicenseRow {
  lid: string;
  service: string;
  portName: string;
  portNumber: number;
  protocol: Protocol;
  allow: string[];
  env: string | null;
  renew: RenewPolicy;
  ttlMs: number;
  state: LicenseState;
  /** First issue of the `lid`. */
  createdAt: number;
  /** Renewals stop here: `createdAt + max_lifetime`. */
  maxUntil: number;
  createdBy: string;
  jti: string;
  kid: string;
  token: string;
  /** The current token's `iat`/`nbf` and `exp`, in milliseconds (whole seconds). */
  iat: number;
  exp: number;
  renewals: number;
  revokedAt: number | null;
  expiredAt: number | null;
  lastAccessAt: number | null;
  /** The change index that created the license and the one that last changed it. */
  createIndex: number;
  modifyIndex: number;
}

export interface LicenseFilter {
  service?: string;
  state?: LicenseState;
}

export interface LicenseRepo {
  insert(row: LicenseRow): Promise<void>;
  /** Replaces every mutable column of the row with the same `lid`. */
  update(row: LicenseRow): Promise<void>;
  get(lid: string): Promise<LicenseRow | undefined>;
  list(filter?: LicenseFilter): Promise<LicenseRow[]>;
  /** Active licenses whose token expires at or before `at`, earliest first. */
  activeExpiringBy(at: number): Promise<LicenseRow[]>;
  /** Revoked licenses whose last token is still unexpired at `now`, revoked after `afterIndex`. */
  revokedSince(filter: { service?: string; afterIndex: number; now: number }): Promise<LicenseRow[]>;
  /** Raises `lastAccessAt` (never lowers it) on the active licenses of a service's port. Returns how many. */
  touchAccess(service: string, port: { name?: string; number?: number }, at: number): Promise<number>;
  countByState(): Promise<Record<LicenseState, number>>;
}

/** An Ed25519 signing key. The private half never leaves the store and the signer. */
export interface KeyRow {
  kid: string;
  alg: 'EdDSA';
  /** The public JWK (`kty`, `crv`, `x`). */
  publicJwk: { kty: string; crv: string; x: string };
  /** PKCS#8 PEM. */
  privatePem: string;
  createdAt: number;
  retiredAt: number | null;
  /** The latest `exp` of any token this key signed; a retired key is published until then. */
  lastExp: number;
}

export interface KeyRepo {
  insert(row: KeyRow): Promise<void>;
  /** The key that signs now (the newest not retired). */
  active(): Promise<KeyRow | undefined>;
  list(): Promise<KeyRow[]>;
  retire(kid: string, at: number): Promise<void>;
  /** Raises `lastExp` of `kid` to `exp` when later. */
  noteSigned(kid: string, exp: number): Promise<void>;
}

export interface TokenRow {
  id: string;
  name: string | null;
  role: TokenRole;
  service: string | null;
  /** sha256 of the secret part. */
  hash: Buffer;
  createdAt: number;
  createdBy: string;
  revokedAt: number | null;
}

export interface TokenRepo {
  insert(row: TokenRow): Promise<void>;
  get(id: string): Promise<TokenRow | undefined>;
  list(): Promise<TokenRow[]>;
  revoke(id: string, at: number): Promise<void>;
  countActiveAdmins(): Promise<number>;
}

export interface AuditEntry {
  id: number;
  at: number;
  /** Token id of who did it, or `system` for the authority itself. */
  actor: string;
  /** `license.issued`, `license.renewed`, `license.revoked`, `license.expired`, `key.rotated`, `token.created`, ... */
  action: string;
  /** `license/<lid>`, `token/<id>`, `key/<kid>`, ... */
  target: string;
  before: unknown;
  after: unknown;
}

export interface AuditQuery {
  since?: number;
  actor?: string;
  /** Exact, or a prefix when it ends in `*`. */
  target?: string;
  action?: string;
  limit: number;
}

export interface AuditRepo {
  append(entry: Omit<AuditEntry, 'id'>): Promise<number>;
  query(query: AuditQuery): Promise<AuditEntry[]>;
}

/** The global change index: monotonic, persisted, and per service the index of its last change. */
export interface IndexRepo {
  current(): Promise<number>;
  /** Index of the last change of `service`'s licenses; 0 when it never changed. */
  ofService(service: string): Promise<number>;
  /** Takes the next index and records it as `service`'s last change. */
  bump(service: string): Promise<number>;
}

export type AccessDecision = 'allow' | 'deny';

/**
 * What one summed access record adds, already scoped to a service: `count` connections of
 * one caller (identity, origin address) to one port, between `firstAccessAt` and `lastAccessAt`.
 */
export interface AccessInput {
  service: string;
  /** The port's name in the sidecar configuration (or its number, as text). */
  port: string;
  /** Null when the caller had no identity. */
  identity: string | null;
  /** The caller's IP address, without the source port. */
  origin: string;
  count: number;
  bytesIn: number;
  bytesOut: number;
  firstAccessAt: number;
  lastAccessAt: number;
  /** Decision and deny reason of the latest connection in the record. */
  decision: AccessDecision;
  reason: string | null;
}

/** The totals of one caller on one port: counts and bytes summed, first/last access widened. */
export interface CallerAccessRow {
  service: string;
  port: string;
  identity: string | null;
  origin: string;
  count: number;
  bytesIn: number;
  bytesOut: number;
  firstAccessAt: number;
  lastAccessAt: number;
  lastDecision: AccessDecision;
  lastReason: string | null;
}

/** The totals of one port, over every caller (kept when old callers are pruned). */
export interface PortAccessRow {
  service: string;
  port: string;
  count: number;
  bytesIn: number;
  bytesOut: number;
  firstAccessAt: number;
  /** Any connection, admitted or refused. */
  lastAccessAt: number;
  lastDecision: AccessDecision;
  lastReason: string | null;
  /** The latest connection that was admitted; null when every one was refused. */
  lastAllowedAt: number | null;
}

export interface CallerAccessQuery {
  service?: string;
  /** Any of these port names. */
  ports?: readonly string[];
  /** Only callers whose last access is at or after this. */
  since?: number;
  /** Most recent first; at most this many. */
  limit: number;
}

/** Access totals per caller (service, port, identity, origin) and per port. */
export interface AccessRepo {
  /** Adds one record to its caller's and its port's totals (an upsert of each). */
  record(input: AccessInput): Promise<void>;
  /** Callers, most recent last access first. */
  callers(query: CallerAccessQuery): Promise<CallerAccessRow[]>;
  /** One port's totals; undefined when nothing ever connected. */
  port(service: string, port: string): Promise<PortAccessRow | undefined>;
  /** Every port's totals, of one service or all, by service and port. */
  ports(service?: string): Promise<PortAccessRow[]>;
  /** Forgets callers whose last access is before `before` (their ports keep the totals); returns how many. */
  pruneCallers(before: number): Promise<number>;
}

export interface TelemetryRepo {
  /** Records a batch id; false when the service already sent it (the batch is then skipped). */
  claimBatch(service: string, batchId: string, at: number): Promise<boolean>;
  /** Forgets batch ids received before `before`; returns how many. */
  pruneBatches(before: number): Promise<number>;
}

/** One listening socket a sidecar reported. */
export interface InventoryListenerRow {
  protocol: Protocol;
  address: string;
  port: number;
}

/** The latest listener snapshot of a service's sidecar. */
export interface InventoryRow {
  service: string;
  /** When the authority received it. */
  reportedAt: number;
  /** When the sidecar read it. */
  sentAt: number;
  listeners: InventoryListenerRow[];
  /** TCP ports the reporting sidecar accounts for itself: its listen ports, their upstreams, its admin port. */
  sidecarPorts: number[];
}

export interface InventoryRepo {
  /** Replaces the service's snapshot. */
  put(row: InventoryRow): Promise<void>;
  get(service: string): Promise<InventoryRow | undefined>;
  /** Every service's snapshot, by service. */
  list(): Promise<InventoryRow[]>;
}

/** A port of the register as stored; the API shows it as a `PortRecord` (ISO dates). */
export interface PortRow {
  /** Assigned by the store on insert (decimal digits). */
  id: string;
  service: string;
  name: string;
  env: string;
  protocol: Protocol;
  kind: 'static' | 'ephemeral';
  number: number | null;
  owner: string;
  /** `service/name` of the ports this one calls. */
  dependencies: string[];
  state: 'requested' | 'active' | 'transitioning' | 'released' | 'rejected';
  createdAt: number;
  createdBy: string;
  approvedAt: number | null;
  approvedBy: string | null;
  rejectedAt: number | null;
  rejectedBy: string | null;
  releasedAt: number | null;
  releasedBy: string | null;
  reason: string | null;
  /** While transitioning: the new number and when the old one is released. */
  transition: { to: number; windowEndsAt: number } | null;
  /** Numbers given up by transitions; they cool down like released ones. */
  previousNumbers: { number: number; releasedAt: number }[];
  /** A license asked for with the request, issued when the port becomes active. */
  pendingLicense: { allow: string[]; ttlMs?: number | undefined; renew?: RenewPolicy | undefined } | null;
}

export interface PortFilter {
  service?: string;
  name?: string;
  env?: string;
  protocol?: Protocol;
  states?: readonly PortRow['state'][];
}

/**
 * The register's ports. `insert` and `update` also keep the table of held numbers: a number
 * held twice in one env and protocol is refused by the store itself (`port_taken`), and a
 * second live record of one port (service, name, env, protocol) is a `conflict`.
 */
export interface PortRepo {
  /** Stores a new port and returns it with its id. */
  insert(row: Omit<PortRow, 'id'>): Promise<PortRow>;
  /** Replaces every mutable column of the row with the same id. */
  update(row: PortRow): Promise<void>;
  get(id: string): Promise<PortRow | undefined>;
  /** Ports matching the filter, by service, name, env, protocol, then id (oldest first). */
  list(filter?: PortFilter): Promise<PortRow[]>;
  /** Transitioning ports whose window ends at or before `at`, earliest first. */
  transitionsEndingBy(at: number): Promise<PortRow[]>;
}

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
   * Runs `fn` unless another process sharing the store runs the work called `name` right now;
   * resolves true when `fn` ran, false when the round was skipped. Periodic upkeep (renewals,
   * transition and drill ends) goes through it so several authorities do it once.
   */
  exclusive(name: string, fn: () => Promise<void>): Promise<boolean>;
  /** The schema version the store is at. */
  schemaVersion(): Promise<number>;
  close(): Promise<void>;
}

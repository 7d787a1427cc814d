/**
 * The authority's storage seam. Everything the authority keeps goes through these interfaces,
 * so a PostgreSQL implementation can stand beside the embedded SQLite one. Methods are async
 * even where SQLite answers synchronously, because a network database cannot.
 *
 * A write happens inside `store.transaction(fn)`: one `BEGIN IMMEDIATE` (SQLite) or one
 * serialisable transaction (PostgreSQL); `fn` gets the repositories bound to it. Times are
 * milliseconds since the epoch.
 */

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

/** One access record as sidecars report it, already scoped to a service. */
export interface AccessRecord {
  service: string;
  port: string;
  identity: string;
  origin: string;
  lastAccessAt: number;
  count: number;
}

export interface TelemetryRepo {
  /** Records a batch id; false when the service already sent it (the batch is then skipped). */
  claimBatch(service: string, batchId: string, at: number): Promise<boolean>;
  /** Adds `count` and raises the last access of (service, port, identity, origin). */
  recordAccess(record: AccessRecord): Promise<void>;
  /** Last access per (port, identity, origin) of a service, or of all services. */
  accesses(service?: string): Promise<AccessRecord[]>;
  /** Forgets batch ids received before `before`; returns how many. */
  pruneBatches(before: number): Promise<number>;
}

/** Repositories bound to one transaction (or to plain reads). New resources add a repo here. */
export interface StoreTx {
  index: IndexRepo;
  keys: KeyRepo;
  licenses: LicenseRepo;
  tokens: TokenRepo;
  audit: AuditRepo;
  telemetry: TelemetryRepo;
}

export interface Store {
  /** Runs `fn` in one write transaction; commits when it resolves, rolls back when it throws. */
  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>;
  /** Runs reads that must not see another request's uncommitted writes. */
  read<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>;
  /** The schema version the store is at. */
  schemaVersion(): Promise<number>;
  close(): Promise<void>;
}

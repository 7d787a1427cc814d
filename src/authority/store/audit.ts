/** The audit log as stored: the row, its repository (rows from sqlite/ and postgres/, chained here), and the row mapper both share. */
import { asStored, auditHash, genesisHash } from '../audit/chain-hash.ts';
import { int, str, strOrNull, type Row, type JsonColumn } from './columns.ts';

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
  /** The previous row's hash (see `audit/chain-hash.ts`); null only on a row written before the chain existed and not sealed yet. */
  prevHash: string | null;
  hash: string | null;
}

/** What is appended: the hash fields are the repository's to fill. */
export type AuditInput = Omit<AuditEntry, 'id' | 'prevHash' | 'hash'>;

export interface AuditQuery {
  since?: number;
  actor?: string;
  /** Exact, or a prefix when it ends in `*`. */
  target?: string;
  action?: string;
  limit: number;
}

export interface AuditRepo {
  /**
   * Appends `entry` as the newest row, chained to the row before it. Call inside a write
   * transaction: writes run one at a time across every process sharing the store, so the
   * previous row read here is the real one and the chain stays linear.
   */
  append(entry: AuditInput): Promise<number>;
  query(query: AuditQuery): Promise<AuditEntry[]>;
  /** Rows after id `afterId`, oldest first, at most `limit`: a walk along the chain. */
  page(afterId: number, limit: number): Promise<AuditEntry[]>;
  /** The newest `count` rows, oldest first. */
  tail(count: number): Promise<AuditEntry[]>;
  /**
   * Chains the rows after the newest sealed one that have no hash (written before the chain
   * existed, or by an older portwarden sharing the store), oldest first; returns how many.
   * Inside a write transaction.
   */
  sealPending(): Promise<number>;
}

/** The plain row operations a backend provides; `chainedAudit` adds the chain on top. */
export interface AuditRows {
  insert(entry: AuditInput): Promise<number>;
  setHash(id: number, prevHash: string, hash: string): Promise<void>;
  /** Rows without a hash after id `afterId`, oldest first. */
  unsealed(afterId: number): Promise<AuditEntry[]>;
  /** The newest row that has a hash. */
  lastSealed(): Promise<AuditEntry | undefined>;
  query(query: AuditQuery): Promise<AuditEntry[]>;
  page(afterId: number, limit: number): Promise<AuditEntry[]>;
  tail(count: number): Promise<AuditEntry[]>;
}

/** The audit repository of a backend's rows: every append hashes the new row over the previous row's hash. */
export function chainedAudit(rows: AuditRows): AuditRepo {
  // only rows after the newest sealed one: a hash cleared in the middle of the chain stays a
  // break for `audit verify` to find, rather than being sealed over. Resolves with how many
  // were sealed and the chain's head hash after them.
  const seal = async (): Promise<{ count: number; head: string }> => {
    const last = await rows.lastSealed();
    const pending = await rows.unsealed(last?.id ?? 0);
    let head = last?.hash ?? genesisHash;
    for (const row of pending) {
      const hash = auditHash(row, head);
      await rows.setHash(row.id, head, hash);
      head = hash;
    }
    return { count: pending.length, head };
  };
  return {
    async append(entry) {
      // rows an older portwarden wrote (during an upgrade) join the chain before this one
      const { head: prev } = await seal();
      const stored = { ...entry, before: asStored(entry.before), after: asStored(entry.after) };
      const id = await rows.insert(stored);
      await rows.setHash(id, prev, auditHash({ ...stored, id }, prev));
      return id;
    },
    query: (query) => rows.query(query),
    page: (afterId, limit) => rows.page(afterId, limit),
    tail: (count) => rows.tail(count),
    sealPending: async () => (await seal()).count,
  };
}

/** A stored row as a `AuditEntry`; `json` reads a JSON column as the backend returns it. */
export function auditEntryFromRow(row: Row, json: JsonColumn): AuditEntry {
  return {
    id: int(row.id),
    at: int(row.at),
    actor: str(row.actor),
    action: str(row.action),
    target: str(row.target),
    before: json(row.before),
    after: json(row.after),
    prevHash: strOrNull(row.prev_hash),
    hash: strOrNull(row.hash),
  };
}

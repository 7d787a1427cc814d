import type { AuditEntry } from '../store/audit.ts';
import type { Store } from '../store/store.ts';
import { auditHash, genesisHash } from './chain-hash.ts';

/** The first row that does not match, and how. */
export interface ChainBreak {
  id: number;
  problem: 'unsealed' | 'prev_hash' | 'hash' | 'anchor';
  message: string;
  /** What the chain says the field should hold, and what the row holds. */
  expected: string | null;
  found: string | null;
}

/** What `GET /v1/audit/verify` answers and `portwarden audit verify` prints. */
export interface ChainReport {
  intact: boolean;
  /** Rows walked (all of them, or up to the first break). */
  rows: number;
  /** The newest row walked and its hash: record it, then pass it as `anchor` later to prove nothing up to it was rewritten. */
  head: { id: number; hash: string | null } | null;
  first_bad: ChainBreak | null;
}

/** A row id and the hash it had when someone recorded it. */
export interface ChainAnchor {
  id: number;
  hash: string;
}

/** Why `row` does not follow `previous` (undefined: the row is the store's first), or undefined when it does. */
export function chainBreak(row: AuditEntry, previous: AuditEntry | undefined): ChainBreak | undefined {
  if (row.hash === null || row.prevHash === null) {
    return { id: row.id, problem: 'unsealed', message: 'has no hash: written by an older portwarden and not chained yet', expected: null, found: null };
  }
  const expectedPrev = previous === undefined ? genesisHash : previous.hash;
  if (row.prevHash !== expectedPrev) {
    const before = previous === undefined ? 'the chain start' : `row ${previous.id}'s hash`;
    return { id: row.id, problem: 'prev_hash', message: `prev_hash does not match ${before}: a row before it was changed, removed or inserted`, expected: expectedPrev, found: row.prevHash };
  }
  const recomputed = auditHash(row, row.prevHash);
  if (recomputed !== row.hash) {
    return { id: row.id, problem: 'hash', message: 'hash does not match its contents: the row was changed after it was written', expected: recomputed, found: row.hash };
  }
  return undefined;
}

/**
 * Walks the whole audit log in id order, one read per page, and stops at the first row that
 * does not follow the row before it. With `anchor`, that row must be found with that hash.
 */
export async function verifyAuditChain(store: Pick<Store, 'read'>, options: { anchor?: ChainAnchor | undefined; pageSize?: number } = {}): Promise<ChainReport> {
  const pageSize = options.pageSize ?? 1000;
  const anchor = options.anchor;
  let previous: AuditEntry | undefined;
  let rows = 0;
  let anchorSeen = false;
  for (;;) {
    const afterId = previous?.id ?? 0;
    const page = await store.read((tx) => tx.audit.page(afterId, pageSize));
    for (const row of page) {
      rows += 1;
      const broken = chainBreak(row, previous);
      if (broken) return { intact: false, rows, head: headOf(row), first_bad: broken };
      if (anchor !== undefined && row.id === anchor.id) {
        anchorSeen = true;
        if (row.hash !== anchor.hash) {
          return { intact: false, rows, head: headOf(row), first_bad: { id: row.id, problem: 'anchor', message: 'hash is not the one recorded for it: the chain was rewritten up to here', expected: anchor.hash, found: row.hash } };
        }
      }
      previous = row;
    }
    if (page.length < pageSize) break;
  }
  if (anchor !== undefined && !anchorSeen) {
    return { intact: false, rows, head: headOf(previous), first_bad: { id: anchor.id, problem: 'anchor', message: 'the recorded row is missing: the log was cut or rewritten', expected: anchor.hash, found: null } };
  }
  return { intact: true, rows, head: headOf(previous), first_bad: null };
}

/** The newest row against the one before it: what the authority checks at every start (cheap, whatever the log's length). */
export async function verifyAuditHead(store: Pick<Store, 'read'>): Promise<ChainReport> {
  const [previous, last] = await store.read(async (tx) => {
    const tail = await tx.audit.tail(2);
    return tail.length === 2 ? [tail[0], tail[1]] : [undefined, tail[0]];
  });
  if (last === undefined) return { intact: true, rows: 0, head: null, first_bad: null };
  // alone in the log, the newest row follows the chain start
  const broken = chainBreak(last, previous);
  return { intact: broken === undefined, rows: previous === undefined ? 1 : 2, head: headOf(last), first_bad: broken ?? null };
}

function headOf(row: AuditEntry | undefined): ChainReport['head'] {
  return row === undefined ? null : { id: row.id, hash: row.hash };
}

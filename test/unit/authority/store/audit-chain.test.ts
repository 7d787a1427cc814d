import { describe, expect } from 'vitest';
import { auditHash, canonicalJson, genesisHash } from '../../../../src/authority/audit/chain-hash.ts';
import { verifyAuditChain, verifyAuditHead } from '../../../../src/authority/audit/verify.ts';
import type { AuditInput } from '../../../../src/authority/store/audit.ts';
import type { Store } from '../../../../src/authority/store/store.ts';
import { storeKinds } from '../../../helpers/stores.ts';

const at = Date.UTC(2026, 0, 1);

/** Appends `n` entries, each in its own transaction, as the authority does. */
async function appendRows(store: Store, n: number, from = 0): Promise<void> {
  for (let i = from; i < from + n; i++) {
    const entry: AuditInput = { at: at + i, actor: `tok${i % 3}`, action: 'license.issued', target: `license/l_${i}`, before: i % 2 ? { state: 'active', n: i } : null, after: { state: 'revoked', allow: ['spiffe://corp/*'], n: i, ünï: 'ç' } };
    await store.transaction((tx) => tx.audit.append(entry));
  }
}

describe.each(storeKinds())('the audit hash chain on $name', (kind) => {
  kind.it('chains every row to the one before it, as the documented canonical form says', async () => {
    const store = await (await kind.fresh()).open();
    await appendRows(store, 5);
    const rows = await store.read((tx) => tx.audit.page(0, 100));
    expect(rows.map((row) => row.prevHash)).toEqual([genesisHash, ...rows.slice(0, -1).map((row) => row.hash)]);
    // recomputed from the documented form by hand, not through auditHash's own field list
    const first = rows[0]!;
    const document = { v: 1, id: first.id, at: first.at, actor: first.actor, action: first.action, target: first.target, before: first.before, after: first.after, prev_hash: genesisHash };
    const { createHash } = await import('node:crypto');
    expect(first.hash).toBe(createHash('sha256').update(canonicalJson(document)).digest('hex'));
    expect(canonicalJson(document)).toMatch(/^\{"action":"license.issued","actor":"tok0","after":\{"allow":\["spiffe:\/\/corp\/\*"\],"n":0,"state":"revoked","ünï":"ç"\},"at":\d+,"before":null,"id":\d+,"prev_hash":"0{64}","target":"license\/l_0","v":1\}$/);
    expect(await verifyAuditChain(store, { pageSize: 2 })).toEqual({ intact: true, rows: 5, head: { id: rows[4]!.id, hash: rows[4]!.hash }, first_bad: null });
    expect((await verifyAuditHead(store)).intact).toBe(true);
  });

  kind.it('names the first row whose contents were changed behind its back, and the row after one that was removed', async () => {
    const location = await kind.fresh();
    const store = await location.open();
    await appendRows(store, 6);
    const ids = (await store.read((tx) => tx.audit.page(0, 100))).map((row) => row.id);
    await location.exec(`UPDATE audit SET after = '{"state":"active"}' WHERE id = ${ids[2]}`);
    const changed = await verifyAuditChain(store, { pageSize: 2 });
    expect(changed).toMatchObject({ intact: false, rows: 3, first_bad: { id: ids[2], problem: 'hash' } });
    expect(changed.first_bad?.found).not.toBe(changed.first_bad?.expected);

    await location.exec(`DELETE FROM audit WHERE id IN (${ids[2]}, ${ids[5]})`);
    // the tail row's removal is invisible to the chain alone: that is what an anchor is for
    expect(await verifyAuditChain(store)).toMatchObject({ intact: false, rows: 3, first_bad: { id: ids[3], problem: 'prev_hash', message: expect.stringContaining(`row ${ids[1]}'s hash`) } });
    expect(await verifyAuditChain(store, { anchor: { id: ids[5]!, hash: 'f'.repeat(64) } })).toMatchObject({ intact: false, first_bad: { id: ids[3] } });
  });

  kind.it('proves with an anchor that a chain recomputed from a changed row on is not the one recorded', async () => {
    const location = await kind.fresh();
    const store = await location.open();
    await appendRows(store, 4);
    const head = (await verifyAuditChain(store)).head!;
    const rows = await store.read((tx) => tx.audit.page(0, 100));
    // someone with write access changes row 2 and recomputes every hash from there
    let prev = rows[0]!.hash!;
    for (const row of rows.slice(1)) {
      const edited = row.id === rows[1]!.id ? { ...row, actor: 'nobody' } : row;
      const hash = auditHash(edited, prev);
      await location.exec(`UPDATE audit SET actor = '${edited.actor}', prev_hash = '${prev}', hash = '${hash}' WHERE id = ${row.id}`);
      prev = hash;
    }
    expect((await verifyAuditChain(store)).intact).toBe(true);
    expect(await verifyAuditChain(store, { anchor: { id: head.id, hash: head.hash! } })).toMatchObject({
      intact: false,
      first_bad: { id: head.id, problem: 'anchor', expected: head.hash, found: prev },
    });
    // the anchor of a row that is gone
    expect(await verifyAuditChain(store, { anchor: { id: head.id + 100, hash: head.hash! } })).toMatchObject({ intact: false, first_bad: { id: head.id + 100, problem: 'anchor', found: null } });
  });

  kind.it('chains rows written before the chain existed, once, and never seals over a hash cleared mid-chain', async () => {
    const location = await kind.fresh();
    // a store at schema version 4, as the portwarden before the chain left it, with its rows
    const old = kind.migrations.filter((m) => m.version <= 4);
    await location.exec(
      [
        'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL);',
        ...old.map((m) => `${m.sql};\nINSERT INTO schema_migrations (version, name, applied_at) VALUES (${m.version}, 'v${m.version}', 0);`),
        `INSERT INTO audit (at, actor, action, target, before, after) VALUES (${at}, 'admin', 'token.created', 'token/a', NULL, '{"role":"admin"}'), (${at + 1}, 'admin', 'token.created', 'token/b', NULL, NULL);`,
      ].join('\n'),
    );
    const store = await location.open();
    expect(await store.transaction((tx) => tx.audit.sealPending())).toBe(2);
    expect(await store.transaction((tx) => tx.audit.sealPending())).toBe(0);
    await appendRows(store, 2);
    expect(await verifyAuditChain(store)).toMatchObject({ intact: true, rows: 4 });

    const ids = (await store.read((tx) => tx.audit.page(0, 100))).map((row) => row.id);
    await location.exec(`UPDATE audit SET hash = NULL, prev_hash = NULL, actor = 'someone' WHERE id = ${ids[1]}`);
    await appendRows(store, 1, 10);
    expect(await verifyAuditChain(store)).toMatchObject({ intact: false, first_bad: { id: ids[1], problem: 'unsealed' } });
  });
});

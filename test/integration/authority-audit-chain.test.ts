import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { Client } from 'pg';
import { describe, expect, it } from 'vitest';
import { sqliteFileName } from '../../src/authority/store/sqlite/store.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { issueBody, startTestAuthority, testAdminToken, type TestAuthority } from '../helpers/authority.ts';
import { runPortwarden } from '../helpers/cli.ts';
import { freshPostgresUrl, warnIfNoPostgres, withPostgres } from '../helpers/postgres.ts';

warnIfNoPostgres();

/** Changes through the API: each one audited. */
async function someChanges(t: TestAuthority, n: number, prefix = 's'): Promise<void> {
  for (let i = 0; i < n; i++) {
    const license = (await t.api('POST', '/v1/licenses', { body: issueBody({ service: `${prefix}${i}` }) })).body;
    if (i % 2 === 0) await t.api('POST', `/v1/licenses/${license.lid}/revoke`, { body: { reason: 'test' } });
  }
}

function sqlite(t: TestAuthority, sql: string): void {
  const db = new DatabaseSync(join(t.dataDir, sqliteFileName));
  try {
    db.exec(sql);
  } finally {
    db.close();
  }
}

const verify = (t: TestAuthority, ...args: string[]) => runPortwarden(['audit', 'verify', ...args], { PORTWARDEN_AUTHORITY: t.url, PORTWARDEN_TOKEN: testAdminToken });

async function chainGauge(t: TestAuthority): Promise<string | undefined> {
  return /^portwarden_authority_audit_chain_intact (\d)$/m.exec((await t.api('GET', '/metrics', { token: null })).body as string)?.[1];
}

describe('portwarden audit verify on SQLite', () => {
  it('exits 0 on an intact log, 1 naming the first row changed behind the authority’s back, and the start check flags a changed head', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 12));
    const t = await startTestAuthority({ clock });
    await someChanges(t, 4);
    const entries = (await t.api('GET', '/v1/audit')).body.entries as { id: number; hash: string; prev_hash: string }[];
    const head = entries.at(-1)!;
    expect(entries.every((entry, i) => i === 0 || entry.prev_hash === entries[i - 1]?.hash)).toBe(true);

    const intact = await verify(t);
    expect(intact).toEqual({ code: 0, stdout: `audit chain intact: ${entries.length} rows, head ${head.id}:${head.hash}\n`, stderr: '' });
    expect((await verify(t, '--anchor', `${head.id}:${head.hash}`)).code).toBe(0);

    // someone with the database file rewrites who revoked a license
    const victim = entries[3]!;
    sqlite(t, `UPDATE audit SET after = json_set(after, '$.reason', 'routine') WHERE id = ${victim.id}`);
    const broken = await verify(t, '--format', 'json');
    expect(broken.code).toBe(1);
    expect(JSON.parse(broken.stdout)).toMatchObject({ intact: false, rows: 4, first_bad: { id: victim.id, problem: 'hash', found: victim.hash } });
    const text = await verify(t);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(new RegExp(`^audit row ${victim.id}: hash: hash does not match its contents: the row was changed after it was written \\(expected [0-9a-f]{64}, found ${victim.hash}\\)\\n$`));
    expect(await chainGauge(t)).toBe('0');
    const bad = await verify(t, '--anchor', 'nonsense');
    expect([bad.code, bad.stderr]).toEqual([2, expect.stringMatching(/bad_request: anchor: must be ID:HASH/)]);

    // the head itself changed: the next start says so, and serves on
    sqlite(t, `UPDATE audit SET actor = 'nobody' WHERE id = ${head.id}`);
    await t.authority.close();
    const again = await startTestAuthority({ clock, dataDir: t.dataDir });
    expect(again.logs).toContainEqual(expect.objectContaining({ level: 'error', row: head.id, problem: 'hash', msg: expect.stringContaining(`hash chain is broken at row ${head.id}`) }));
    expect(await chainGauge(again)).toBe('0');
    expect((await again.api('GET', '/readyz', { token: null })).status).toBe(200);
    expect((await again.api('POST', '/v1/licenses', { body: issueBody() })).status).toBe(201);
  });
});

it('with verify_on_start off, says nothing of the chain until audit verify has run', async () => {
  const t = await startTestAuthority({ config: { audit: { verify_on_start: 'off' } } });
  expect(await chainGauge(t)).toBeUndefined();
  expect((await t.api('GET', '/metrics', { token: null })).body).toMatch(/^portwarden_authority_audit_chain_intact nan$/im);
  expect((await verify(t)).code).toBe(0);
  expect(await chainGauge(t)).toBe('1');
});

describe('the audit chain with two authorities on one PostgreSQL', () => {
  withPostgres('stays one linear chain under concurrent writes through both, and names a row changed with SQL', async () => {
    const url = await freshPostgresUrl();
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 12));
    const [a, b] = [await startTestAuthority({ clock, config: { storage: { url } } }), await startTestAuthority({ clock, config: { storage: { url } } })];
    expect(await chainGauge(a)).toBe('1');
    await Promise.all([someChanges(a, 6, 'a'), someChanges(b, 6, 'b'), someChanges(a, 4, 'c'), someChanges(b, 4, 'd')]);
    const report = (await b.api('GET', '/v1/audit/verify')).body;
    // the first key, then 10 + 10 issues and 3 + 3 + 2 + 2 revocations
    expect(report).toMatchObject({ intact: true, rows: 31, first_bad: null });
    const entries = (await a.api('GET', '/v1/audit')).body.entries as { id: number; hash: string; prev_hash: string; target: string }[];
    expect(entries.map((entry) => entry.prev_hash).slice(1)).toEqual(entries.map((entry) => entry.hash).slice(0, -1));
    expect(report.head).toEqual({ id: entries.at(-1)!.id, hash: entries.at(-1)!.hash });

    const victim = entries[17]!;
    const client = new Client({ connectionString: url });
    await client.connect();
    await client.query(`UPDATE audit SET after = '{"state":"active"}' WHERE id = $1`, [victim.id]);
    await client.end();
    const broken = await verify(a, '--format', 'json');
    expect(broken.code).toBe(1);
    expect(JSON.parse(broken.stdout)).toMatchObject({ intact: false, first_bad: { id: victim.id, problem: 'hash', found: victim.hash } });
  });
});

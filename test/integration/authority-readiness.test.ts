import { chmod, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it, onTestFinished } from 'vitest';
import { sqliteFileName } from '../../src/authority/store/sqlite/store.ts';
import { startTestAuthority, type TestAuthority } from '../helpers/authority.ts';
import { startPostgresCluster, warnIfNoPostgres, withPostgres } from '../helpers/postgres.ts';
import { waitFor } from '../helpers/wait.ts';

warnIfNoPostgres();

/** `/readyz` as a caller sees it: the status and, when refused, the error code and message. */
async function readyz(t: TestAuthority): Promise<{ status: number; code?: string; message?: string }> {
  const answer = await t.api('GET', '/readyz', { token: null });
  return answer.status === 200 ? { status: 200 } : { status: answer.status, code: answer.body.error.code, message: answer.body.error.message };
}

async function storeUp(t: TestAuthority): Promise<string | undefined> {
  const text = (await t.api('GET', '/metrics', { token: null })).body as string;
  return /^portwarden_authority_store_up (\d)$/m.exec(text)?.[1];
}

it('is not ready while the SQLite file is read-only, ready again once it is writable, and not ready once its directory is gone', async () => {
  const t = await startTestAuthority();
  expect(await readyz(t)).toEqual({ status: 200 });
  expect(await storeUp(t)).toBe('1');

  const file = join(t.dataDir, sqliteFileName);
  await chmod(file, 0o400);
  const readOnly = await waitFor(async () => {
    const answer = await readyz(t);
    return answer.status === 503 ? answer : undefined;
  }, { what: '/readyz to refuse' });
  expect(readOnly).toEqual({ status: 503, code: 'unavailable', message: `the store does not take writes: ${file} is read-only (mode 0400)` });
  expect(await storeUp(t)).toBe('0');
  // the process stays up and keeps answering reads
  expect((await t.api('GET', '/healthz', { token: null })).status).toBe(200);
  expect((await t.api('GET', '/v1/licenses')).status).toBe(200);

  await chmod(file, 0o600);
  await waitFor(async () => (await readyz(t)).status === 200, { what: '/readyz to recover' });
  expect(await storeUp(t)).toBe('1');

  await rm(t.dataDir, { recursive: true, force: true });
  const gone = await waitFor(async () => {
    const answer = await readyz(t);
    return answer.status === 503 ? answer : undefined;
  }, { what: '/readyz to refuse a removed data_dir' });
  expect(gone.message).toBe(`the store does not take writes: ${file} is gone (ENOENT); restore data_dir and restart the authority`);
  expect((await t.api('GET', '/healthz', { token: null })).status).toBe(200);
  // each change of verdict is logged once
  const verdicts = t.logs.filter((line) => /the store (does not take|takes) writes/.test(String(line.msg))).map((line) => [line.level, line.msg]);
  expect(verdicts).toEqual([
    ['warn', 'the store does not take writes; not ready'],
    ['info', 'the store takes writes again; ready'],
    ['warn', 'the store does not take writes; not ready'],
  ]);
});

withPostgres('is not ready while PostgreSQL is down, and ready again by itself when it is back', async () => {
  // a cluster of its own: stopping the shared one would break the other tests
  const cluster = await startPostgresCluster();
  onTestFinished(() => cluster.destroy());
  const t = await startTestAuthority({ config: { storage: { url: cluster.url, pool_size: 5 } } });
  expect(await readyz(t)).toEqual({ status: 200 });

  await cluster.stop();
  const down = await waitFor(async () => {
    const answer = await readyz(t);
    return answer.status === 503 ? answer : undefined;
  }, { what: '/readyz to refuse', timeoutMs: 10_000 });
  expect(down.code).toBe('unavailable');
  expect(down.message).toMatch(/^the store does not take writes: PostgreSQL at postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres (is unreachable|failed)/);
  expect(await storeUp(t)).toBe('0');
  expect((await t.api('GET', '/healthz', { token: null })).status).toBe(200);

  await cluster.start();
  await waitFor(async () => (await readyz(t)).status === 200, { what: '/readyz to recover', timeoutMs: 15_000 });
  expect(await storeUp(t)).toBe('1');
  // and it serves writes again
  expect((await t.api('POST', '/v1/tokens', { body: { role: 'sidecar', service: 'payments' } })).status).toBe(201);
});

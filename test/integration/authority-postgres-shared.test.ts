import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { describe, expect } from 'vitest';
import { ManualClock } from '../../src/shared/clock.ts';
import { issueBody, pinnedLicenseChecks, startTestAuthority, type TestAuthority, type TestAuthorityOptions } from '../helpers/authority.ts';
import { freshPostgresUrl, warnIfNoPostgres, withPostgres } from '../helpers/postgres.ts';
import { waitFor } from '../helpers/wait.ts';

warnIfNoPostgres();

/** Two authorities on one fresh database, sharing one injected clock. */
async function pair(options: TestAuthorityOptions = {}): Promise<{ a: TestAuthority; b: TestAuthority; url: string; clock: ManualClock }> {
  const url = await freshPostgresUrl();
  const clock = new ManualClock(Date.UTC(2026, 0, 1, 12));
  const start = () => startTestAuthority({ ...options, clock, config: { ...options.config, storage: { url } } });
  const [a, b] = [await start(), await start()];
  return { a, b, url, clock };
}

/** Holds a blocking query on `on` after `index`; `held` resolves with the answer and when it came. */
async function hold(on: TestAuthority, index: number) {
  const held = on.api('GET', `/v1/licenses?service=payments&index=${index}&wait=30s`).then((answer) => ({ answer, at: performance.now() }));
  await waitFor(() => on.authority.context.hub.size === 1, { what: 'the query to be held' });
  return { held };
}

describe('two authorities sharing one PostgreSQL', () => {
  withPostgres('see each other’s licenses, and a change on one wakes a blocking query held by the other', async () => {
    const { a, b } = await pair();
    const license = (await a.api('POST', '/v1/licenses', { body: issueBody() })).body;
    const listed = await b.api('GET', '/v1/licenses?service=payments');
    expect(listed.body.licenses.map((l: { lid: string }) => l.lid)).toEqual([license.lid]);

    // revoke through A wakes B
    const heldOnB = await hold(b, listed.body.index as number);
    const revokedAt = performance.now();
    expect((await a.api('POST', `/v1/licenses/${license.lid}/revoke`, { body: { reason: 'test' } })).status).toBe(200);
    const woken = await heldOnB.held;
    expect(woken.at - revokedAt).toBeLessThan(1_000);
    expect(woken.answer.body.revoked).toEqual([license.lid]);
    expect(woken.answer.body.index).toBeGreaterThan(listed.body.index);

    // and the other way round: an issue, then a revoke, through B wake A
    const heldOnA = await hold(a, woken.answer.body.index as number);
    const issuedAt = performance.now();
    const second = (await b.api('POST', '/v1/licenses', { body: issueBody({ port_name: 'grpc' }) })).body;
    const wokenA = await heldOnA.held;
    expect(wokenA.at - issuedAt).toBeLessThan(1_000);
    expect(wokenA.answer.body.licenses.map((l: { lid: string }) => l.lid)).toEqual([second.lid]);
    const heldAgainOnA = await hold(a, wokenA.answer.body.index as number);
    const revokedOnBAt = performance.now();
    expect((await b.api('POST', `/v1/licenses/${second.lid}/revoke`, { body: { reason: 'test' } })).status).toBe(200);
    const wokenAgain = await heldAgainOnA.held;
    expect(wokenAgain.at - revokedOnBAt).toBeLessThan(1_000);
    expect(wokenAgain.answer.body.revoked).toEqual([second.lid]);
  });

  withPostgres('wake the change feed (the console) held by the other on a register change that licenses nothing', async () => {
    const { a, b } = await pair({ config: { register: { approval: 'manual' } } });
    const index = (await b.api('GET', '/v1/changes')).body.index as number;
    const held = b.api('GET', `/v1/changes?index=${index}&wait=30s`).then((answer) => ({ answer, at: performance.now() }));
    await waitFor(() => b.authority.context.hub.size === 1, { what: 'the change feed to be held' });
    const requestedAt = performance.now();
    const port = await a.api('POST', '/v1/ports', { body: { service: 'payments', name: 'api', env: 'prod' } });
    expect([port.status, port.body.state]).toEqual([201, 'requested']);
    const woken = await held;
    expect(woken.at - requestedAt).toBeLessThan(1_000);
    expect(woken.answer.body.index).toBeGreaterThan(index);
  });

  withPostgres('share one change index that only grows, whichever authority takes it', async () => {
    const { a, b } = await pair();
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) {
      const via = i % 2 === 0 ? a : b;
      await via.api('POST', '/v1/licenses', { body: issueBody({ port_name: `p${i}` }) });
      const [fromA, fromB] = await Promise.all([a.api('GET', '/v1/licenses?service=payments'), b.api('GET', '/v1/licenses?service=payments')]);
      expect(fromA.body.index).toBe(fromB.body.index);
      seen.push(fromA.body.index as number);
    }
    expect(seen).toEqual([...seen].sort((x, y) => x - y));
    expect(new Set(seen).size).toBe(seen.length);
    // concurrent writes through both get distinct, gap-free indexes
    await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).api('POST', '/v1/licenses', { body: issueBody({ service: `s${i}` }) })));
    const last = (await b.api('GET', '/v1/licenses')).body.index as number;
    expect(last).toBe(seen.at(-1)! + 10);
  });

  withPostgres('publish a key rotated on one in the other’s JWKS, and both sign with it', async () => {
    const { a, b, clock } = await pair();
    const before = (await a.api('POST', '/v1/licenses', { body: issueBody({ renew: 'never' }) })).body;
    const rotated = (await a.api('POST', '/v1/keys/rotate')).body;
    expect(rotated.kid).not.toBe(before.kid);
    const jwksOf = async (t: TestAuthority) => (await t.api('GET', '/.well-known/jwks.json', { token: null })).body as JSONWebKeySet;
    expect((await jwksOf(b)).keys.map((k) => k.kid).sort()).toEqual([before.kid, rotated.kid].sort());

    const fromB = (await b.api('POST', '/v1/licenses', { body: issueBody({ port_name: 'grpc' }) })).body;
    const fromA = (await a.api('POST', '/v1/licenses', { body: issueBody({ port_name: 'admin' }) })).body;
    expect(decodeProtectedHeader(fromB.token).kid).toBe(rotated.kid);
    expect(decodeProtectedHeader(fromA.token).kid).toBe(rotated.kid);
    for (const jwks of [await jwksOf(a), await jwksOf(b)]) {
      for (const token of [before.token, fromA.token, fromB.token]) await jwtVerify(token, createLocalJWKSet(jwks), pinnedLicenseChecks(clock.now()));
    }
  });

  withPostgres('renew a due license once, with both renewers sweeping', async () => {
    const { a, b, clock } = await pair({ renewIntervalMs: 10, config: { licenses: { ttl: '1h', renew_before: '10m', max_lifetime: '30d' } } });
    const license = (await a.api('POST', '/v1/licenses', { body: issueBody({ ttl: undefined, renew: 'always' }) })).body;
    clock.advance(51 * 60_000); // inside the renew window
    await waitFor(async () => (await b.api('GET', `/v1/licenses/${license.lid}`)).body.renewals === 1, { what: 'the renewal' });
    await new Promise((resolve) => setTimeout(resolve, 300)); // dozens more sweeps of each
    const renewed = (await a.api('GET', '/v1/audit?action=license.renewed')).body.entries;
    expect(renewed).toHaveLength(1);
    expect(renewed[0]).toMatchObject({ actor: 'system', target: `license/${license.lid}` });
  });

  withPostgres('keep everything across a restart of both', async () => {
    const options = { config: {} };
    const { a, b, url, clock } = await pair(options);
    const license = (await a.api('POST', '/v1/licenses', { body: issueBody() })).body;
    const rotated = (await b.api('POST', '/v1/keys/rotate')).body;
    const index = (await a.api('GET', '/v1/licenses?service=payments')).body.index as number;
    await Promise.all([a.authority.close(), b.authority.close()]);

    const again = () => startTestAuthority({ clock, config: { storage: { url } } });
    const [a2, b2] = [await again(), await again()];
    for (const t of [a2, b2]) {
      const listed = (await t.api('GET', '/v1/licenses?service=payments')).body;
      expect(listed.index).toBe(index);
      expect(listed.licenses.map((l: { lid: string }) => l.lid)).toEqual([license.lid]);
      expect((await t.api('GET', '/v1/keys')).body.keys.find((k: { state: string }) => k.state === 'active').kid).toBe(rotated.kid);
    }
    expect((await b2.api('POST', '/v1/licenses', { body: issueBody({ port_name: 'grpc' }) })).body.kid).toBe(rotated.kid);
  });

  withPostgres('make one bootstrap admin token between them, and say where it is not', async () => {
    const url = await freshPostgresUrl();
    const a = await startTestAuthority({ adminToken: null, config: { storage: { url } } });
    const b = await startTestAuthority({ adminToken: null, config: { storage: { url } } });
    expect(a.authority.adminTokenFile).toBe(join(a.dataDir, 'admin.token'));
    expect(existsSync(join(a.dataDir, 'admin.token'))).toBe(true);
    expect(b.authority.adminTokenFile).toBeUndefined();
    expect(existsSync(join(b.dataDir, 'admin.token'))).toBe(false);
    expect(b.logs.some((line) => line.level === 'warn' && String(line.msg).includes('PORTWARDEN_ADMIN_TOKEN'))).toBe(true);
    // the token from A's file works on B: tokens live in the shared store
    const token = (await readFile(join(a.dataDir, 'admin.token'), 'utf8')).trim();
    expect((await b.api('GET', '/v1/tokens', { token })).status).toBe(200);
  });
});

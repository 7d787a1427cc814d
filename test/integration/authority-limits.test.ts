import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { expect, it, onTestFinished } from 'vitest';
import { createLogger } from '../../src/shared/logger.ts';
import { createSidecarMetrics } from '../../src/sidecar/admin/metrics.ts';
import { LicenseSync } from '../../src/sidecar/licenses/sync.ts';
import { issueBody, startTestAuthority, type TestAuthority } from '../helpers/authority.ts';
import { tempDir } from '../helpers/tmp.ts';
import { waitFor } from '../helpers/wait.ts';

async function sidecarToken(t: TestAuthority, service: string): Promise<string> {
  return (await t.api('POST', '/v1/tokens', { body: { role: 'sidecar', service } })).body.token as string;
}

async function refused(t: TestAuthority, reason: string): Promise<number> {
  const text = (await t.api('GET', '/metrics', { token: null })).body as string;
  return Number(new RegExp(`^portwarden_authority_refused_requests_total\\{reason="${reason}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
}

it('holds only so many blocking queries per token and in all, answers the rest 429 with Retry-After, and keeps serving everyone else', async () => {
  const t = await startTestAuthority({ config: { limits: { max_watches: 8, max_watches_per_token: 5 } } });
  const greedy = await sidecarToken(t, 'payments');
  const other = await sidecarToken(t, 'billing');
  const index = (await t.api('GET', '/v1/licenses')).body.index as number;
  const poll = (token: string, service: string) => t.api('GET', `/v1/licenses?service=${service}&index=${index}&wait=60s`, { token });

  // one token holder opens far more long-polls than allowed
  const flood = Array.from({ length: 40 }, () => poll(greedy, 'payments'));
  await waitFor(() => t.authority.context.hub.size === 5, { what: 'five held queries' });
  const answered: Awaited<ReturnType<typeof poll>>[] = [];
  for (const p of flood) void p.then((answer) => answered.push(answer));
  await waitFor(() => answered.length === 35, { what: 'the other 35 to be refused' });
  for (const answer of answered) {
    expect([answer.status, answer.body.error.code, answer.headers['retry-after']]).toEqual([429, 'too_many_watches', '5']);
  }
  expect(answered[0]?.body.error.message).toBe('this token holds 5 blocking queries (limits.max_watches_per_token); retry later');

  // everyone else is still served: another token's queries are held, its reads and the public routes answer
  const others = Array.from({ length: 3 }, () => poll(other, 'billing'));
  await waitFor(() => t.authority.context.hub.size === 8, { what: 'eight held queries' });
  const full = await poll(other, 'billing');
  expect([full.status, full.body.error.code, full.body.error.message]).toEqual([429, 'too_many_watches', 'the authority holds 8 blocking queries (limits.max_watches); retry later']);
  expect((await t.api('GET', '/healthz', { token: null })).status).toBe(200);
  expect((await t.api('GET', '/v1/licenses?service=billing', { token: other })).status).toBe(200);
  expect((await t.api('GET', '/.well-known/jwks.json', { token: null })).status).toBe(200);
  expect(await refused(t, 'too_many_watches')).toBe(36);
  expect(t.logs.filter((line) => line.code === 'too_many_watches' && line.level === 'warn')).toHaveLength(2); // once per token, not once per refusal

  // a change answers the held ones, and their places are free again
  const license = (await t.api('POST', '/v1/licenses', { body: issueBody() })).body;
  const woken = (await Promise.all(flood)).filter((answer) => answer.status === 200);
  expect(woken.map((answer) => answer.body.licenses.map((l: { lid: string }) => l.lid))).toEqual(Array.from({ length: 5 }, () => [license.lid]));
  expect(t.authority.context.watchSlots.size).toBe(3);
  const again = t.api('GET', `/v1/licenses?service=payments&index=${woken[0]?.body.index}&wait=60s`, { token: greedy });
  await waitFor(() => t.authority.context.hub.size === 4, { what: 'a new query to be held' });
  await t.api('POST', `/v1/licenses/${license.lid}/revoke`, { body: {} });
  expect((await again).body.revoked).toEqual([license.lid]);
  await t.api('POST', '/v1/licenses', { body: issueBody({ service: 'billing' }) });
  expect((await Promise.all(others)).map((answer) => answer.status)).toEqual([200, 200, 200]);
});

it('limits each token’s request rate with a token bucket, 429 rate_limited with Retry-After, and refills with time', async () => {
  const t = await startTestAuthority({ config: { limits: { requests_per_second: 2, burst: 3 } } });
  const a = await sidecarToken(t, 'payments');
  const b = await sidecarToken(t, 'billing');
  const read = (token: string) => t.api('GET', '/v1/licenses', { token });
  expect([(await read(a)).status, (await read(a)).status, (await read(a)).status]).toEqual([200, 200, 200]);
  const over = await read(a);
  expect([over.status, over.body.error.code, over.headers['retry-after']]).toEqual([429, 'rate_limited', '1']);
  // another token has its own bucket
  expect((await read(b)).status).toBe(200);
  t.clock.advance(1_000);
  expect([(await read(a)).status, (await read(a)).status, (await read(a)).status]).toEqual([200, 200, 429]);
  expect(await refused(t, 'rate_limited')).toBe(2);
});

it('closes connections beyond max_connections at once, and answers headers that do not arrive in time 408 with a code', async () => {
  const t = await startTestAuthority({ config: { limits: { max_connections: 10, headers_timeout: '1s', request_timeout: '2s' } } });
  const { port } = new URL(t.url);
  const sockets: { socket: Socket; closed: boolean; data: string }[] = [];
  for (let i = 0; i < 25; i++) {
    const entry = { socket: connect(Number(port), '127.0.0.1'), closed: false, data: '' };
    entry.socket.on('data', (chunk: Buffer) => (entry.data += chunk.toString()));
    entry.socket.on('close', () => (entry.closed = true));
    entry.socket.on('error', () => undefined);
    // a request that never finishes its headers
    entry.socket.write('GET /healthz HTTP/1.1\r\nhost: authority\r\n');
    sockets.push(entry);
  }
  onTestFinished(() => sockets.forEach((entry) => entry.socket.destroy()));
  await waitFor(() => sockets.filter((entry) => entry.closed).length >= 15, { what: 'the connections beyond 10 to be closed' });
  // the ten it kept are cut once headers_timeout passes, with a JSON answer
  await waitFor(() => sockets.every((entry) => entry.closed), { what: 'the slow requests to time out', timeoutMs: 10_000 });
  const timedOut = sockets.filter((entry) => entry.data !== '');
  expect(timedOut.length).toBe(10);
  expect(timedOut[0]?.data).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n[\s\S]*\r\n\r\n\{"error":\{"code":"request_timeout","message":"the request did not arrive in time"\}\}\n$/);
  expect(await refused(t, 'max_connections')).toBe(15);
  expect(await refused(t, 'request_timeout')).toBe(10);
  expect((await t.api('GET', '/healthz', { token: null })).status).toBe(200);
});

it('a sidecar refused a blocking query stays in sync: it asks again without holding when Retry-After says, not at its back-off floor', async () => {
  const t = await startTestAuthority({ config: { limits: { max_watches_per_token: 1 } } });
  const token = await sidecarToken(t, 'payments');
  const license = (await t.api('POST', '/v1/licenses', { body: issueBody({ ttl: '24h' }) })).body;
  const replica = async () => {
    const dir = await tempDir();
    const tokenFile = join(dir, 'sidecar.token');
    await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
    const lines: Record<string, unknown>[] = [];
    const sync = new LicenseSync({
      service: 'payments',
      authority: { url: t.url, issuer: 'portwarden-authority', token_file: tokenFile, refresh: 60_000, cache_dir: join(dir, 'cache'), clock_tolerance: 30_000 },
      ports: [{ name: 'api', listenPort: 8443 }],
      logger: createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } }),
      metrics: createSidecarMetrics(new Registry(), { processDefaults: false }),
      clock: t.clock,
    });
    onTestFinished(() => sync.close());
    await sync.start();
    return { sync, lines };
  };
  const first = await replica();
  await waitFor(() => first.sync.authorityReachable && t.authority.context.hub.size === 1, { what: 'the first replica to hold its query' });
  // the second replica shares the token: its first, unheld query gets the license, its blocking
  // query is refused, and it waits the 5s the authority asks, not its 250ms back-off floor
  const second = await replica();
  const failure = await waitFor(() => second.lines.find((line) => line.code === 'too_many_watches'), { what: 'the refusal' });
  expect(failure.retryInMs).toBeGreaterThanOrEqual(5_000);
  expect(failure.msg).toBe('authority holds no more blocking queries for this token (limits.max_watches_per_token); asking without holding');
  expect(second.sync.get('api')?.claims.sub).toBe('payments/api');
  expect(await refused(t, 'too_many_watches')).toBe(1);
  // the authority answered: the replica is not "unreachable" (no grace, no degraded health) ...
  expect(second.sync.authorityReachable).toBe(true);
  // ... and hears a revocation from its next, unheld question
  await t.api('POST', `/v1/licenses/${license.lid}/revoke`, { body: {} });
  await waitFor(() => second.sync.get('api')?.revoked === true, { what: 'the revocation to reach the refused replica', timeoutMs: 10_000 });
  expect(second.lines.filter((line) => line.code === 'too_many_watches')).toHaveLength(1);
  expect(second.lines.some((line) => /unreachable/.test(String(line.msg)))).toBe(false);
});

it('holds a blocking query past request_timeout: the timeout covers the request arriving, not the wait', async () => {
  const t = await startTestAuthority({ config: { limits: { headers_timeout: '1s', request_timeout: '1s' } } });
  const index = (await t.api('GET', '/v1/licenses')).body.index as number;
  const began = performance.now();
  const held = await t.api('GET', `/v1/licenses?index=${index}&wait=2500ms`);
  expect(held.status).toBe(200);
  expect(held.body.index).toBe(index);
  expect(performance.now() - began).toBeGreaterThanOrEqual(2_400);
});

it('listens with a backlog as deep as max_connections, so a burst of sidecars connecting at once is not dropped', async (ctx) => {
  // the accept queue's depth is the listening socket's Send-Q in `ss` (Linux's iproute2)
  const ss = (port: string) => spawnSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' });
  if (ss('1').error) ctx.skip();
  const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
  const t = await startTestAuthority({ config: { limits: { max_connections: 3_000 } } });
  const line = ss(new URL(t.url).port).stdout.trim().split(/\s+/);
  expect(Number(line[2])).toBe(Math.min(3_000, somaxconn));
});

it('lets every blocking query one token may hold ask again at once after a change (the default burst covers max_watches_per_token)', async () => {
  const t = await startTestAuthority();
  const token = await sidecarToken(t, 'payments');
  const replicas = 500; // limits.max_watches_per_token's default
  const poll = (index: number) => t.api('GET', `/v1/licenses?service=payments&index=${index}&wait=60s`, { token });
  const index = (await t.api('GET', '/v1/licenses?service=payments', { token })).body.index as number;
  t.clock.advance(30_000); // the replicas start holding a while after that read
  const held = Array.from({ length: replicas }, () => poll(index));
  await waitFor(async () => (await t.api('GET', '/metrics', { token: null })).body.includes(`portwarden_authority_watchers ${replicas}`));
  t.clock.advance(30_000); // a refresh period later the bucket is full again
  const { lid } = (await t.api('POST', '/v1/licenses', { body: issueBody() })).body as { lid: string };
  const answers = await Promise.all(held);
  expect(answers.every((answer) => answer.status === 200 && answer.body.licenses.length === 1)).toBe(true);
  // every replica asks again at once, as sidecars do when a change reaches them
  const next = answers[0]!.body.index as number;
  const again = Array.from({ length: replicas }, () => poll(next));
  await waitFor(async () => (await t.api('GET', '/metrics', { token: null })).body.includes(`portwarden_authority_watchers ${replicas}`));
  await t.api('POST', `/v1/licenses/${lid}/revoke`, { body: {} });
  expect((await Promise.all(again)).map((answer) => answer.status)).toEqual(new Array(replicas).fill(200));
  expect(await refused(t, 'rate_limited')).toBe(0);
});

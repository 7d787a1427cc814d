import { expect, it } from 'vitest';
import { issueBody, startTestAuthority, testAdminToken } from '../helpers/authority.ts';
import { waitFor } from '../helpers/wait.ts';

it('wakes a held query within 100 ms of a revoke, with the revoked lid and a later index', async () => {
  const t = await startTestAuthority();
  const license = (await t.api('POST', '/v1/licenses', { body: issueBody() })).body;
  const sidecar = (await t.api('POST', '/v1/tokens', { body: { role: 'sidecar', service: 'payments' } })).body.token;
  const initial = await t.api('GET', '/v1/licenses?service=payments', { token: sidecar });
  expect(initial.body.revoked).toEqual([]);
  const index = initial.body.index as number;
  expect(initial.headers['x-portwarden-index']).toBe(String(index));

  let answeredAt = 0;
  const held = t.api('GET', `/v1/licenses?service=payments&index=${index}&wait=30s`, { token: sidecar }).then((answer) => {
    answeredAt = performance.now();
    return answer;
  });
  await waitFor(() => t.authority.context.hub.size === 1, { what: 'the query to be held' });
  // another service's change does not wake it
  await t.api('POST', '/v1/licenses', { body: issueBody({ service: 'orders' }) });
  expect(t.authority.context.hub.size).toBe(1);

  const revokedAt = performance.now();
  await t.api('POST', `/v1/licenses/${license.lid}/revoke`, { body: { reason: 'test' } });
  const answer = await held;
  expect(answeredAt - revokedAt).toBeLessThan(100);
  expect(answer.body.revoked).toEqual([license.lid]);
  expect(answer.body.licenses).toEqual([]);
  expect(answer.body.index).toBeGreaterThan(index);
  expect(answer.headers['x-portwarden-index']).toBe(String(answer.body.index));
  expect(t.authority.context.hub.size).toBe(0);
});

it('answers at `wait` with the same state when nothing changes, and at once for index 0', async () => {
  const t = await startTestAuthority();
  await t.api('POST', '/v1/licenses', { body: issueBody() });
  const index = (await t.api('GET', '/v1/licenses?service=payments')).body.index as number;

  const started = performance.now();
  const answer = await t.api('GET', `/v1/licenses?service=payments&index=${index}&wait=300ms`);
  const elapsed = performance.now() - started;
  expect(elapsed).toBeGreaterThanOrEqual(290);
  expect(elapsed).toBeLessThan(3_000);
  expect(answer.body.index).toBe(index);
  expect(answer.body.licenses).toHaveLength(1);

  // a client ahead of the store (restored backup) is answered at once, as is index 0
  expect((await t.api('GET', `/v1/licenses?service=payments&index=${index + 100}&wait=30s`)).body.index).toBe(index);
  expect((await t.api('GET', '/v1/licenses?service=payments&index=0&wait=30s')).body.licenses).toHaveLength(1);
});

it('holds a query against an empty authority instead of answering at once', async () => {
  const t = await startTestAuthority();
  const empty = await t.api('GET', '/v1/licenses?service=payments');
  expect(empty.body).toEqual({ index: 1, licenses: [], revoked: [] });
  const held = t.api('GET', `/v1/licenses?service=payments&index=${empty.body.index}&wait=30s`);
  await waitFor(() => t.authority.context.hub.size === 1, { what: 'the query to be held' });
  const license = (await t.api('POST', '/v1/licenses', { body: issueBody() })).body;
  const answer = await held;
  expect(answer.body.index).toBe(2);
  expect(answer.body.licenses.map((l: { lid: string }) => l.lid)).toEqual([license.lid]);
});

it('releases held queries on shutdown and when the client goes away', async () => {
  const t = await startTestAuthority();
  await t.api('POST', '/v1/licenses', { body: issueBody() });
  const index = (await t.api('GET', '/v1/licenses?service=payments')).body.index as number;

  const gone = new AbortController();
  const abandoned = fetch(`${t.url}/v1/licenses?service=payments&index=${index}&wait=60s`, {
    headers: { authorization: `Bearer ${testAdminToken}` },
    signal: gone.signal,
  }).catch(() => 'aborted');
  await waitFor(() => t.authority.context.hub.size === 1, { what: 'the query to be held' });
  gone.abort();
  expect(await abandoned).toBe('aborted');
  await waitFor(() => t.authority.context.hub.size === 0, { what: 'the watcher to be released' });

  const held = t.api('GET', `/v1/licenses?service=payments&index=${index}&wait=60s`);
  await waitFor(() => t.authority.context.hub.size === 1, { what: 'the query to be held' });
  await t.authority.close();
  const answer = await held;
  expect(answer.status).toBe(200);
  expect(answer.body.index).toBe(index);
});

it('a change wakes every held query of the service with one store read, each answered with the change', async () => {
  const t = await startTestAuthority();
  await t.api('POST', '/v1/licenses', { body: issueBody() });
  const index = (await t.api('GET', '/v1/licenses?service=payments')).body.index as number;
  const held = Array.from({ length: 40 }, () => t.api('GET', `/v1/licenses?service=payments&index=${index}&wait=30s`));
  await waitFor(() => t.authority.context.hub.size === 40, { what: 'every query to be held' });

  const licenses = t.authority.context.licenses;
  const reads = { count: 0 };
  const snapshot = licenses.snapshot.bind(licenses);
  licenses.snapshot = (...args) => {
    reads.count++;
    return snapshot(...args);
  };
  const issued = (await t.api('POST', '/v1/licenses', { body: issueBody({ port_name: 'admin', port: { number: 9444 } }) })).body;
  const answers = await Promise.all(held);
  expect(reads.count).toBe(1);
  for (const answer of answers) {
    expect(answer.status).toBe(200);
    expect(answer.body.index).toBeGreaterThan(index);
    expect(answer.body.licenses.map((license: { lid: string }) => license.lid)).toContain(issued.lid);
  }
});

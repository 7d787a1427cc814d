import { expect, it } from 'vitest';
import { issueBody, startTestAuthority, type TestAuthority } from '../helpers/authority.ts';
import { requestPort } from '../helpers/register.ts';
import { waitFor } from '../helpers/wait.ts';

/** Holds `GET /v1/changes` after `index`; `held` resolves with the answer and when it came. */
async function hold(t: TestAuthority, index: number, wait = '30s', token?: string) {
  const before = t.authority.context.hub.size;
  const held = t.api('GET', `/v1/changes?index=${index}&wait=${wait}`, token === undefined ? {} : { token }).then((answer) => ({ answer, at: performance.now() }));
  await waitFor(() => t.authority.context.hub.size === before + 1, { what: 'the change feed to be held' });
  return { held };
}

it('GET /v1/changes answers the global index at once, and held, wakes on a license change of any service and on every register change', async () => {
  const t = await startTestAuthority({ config: { register: { approval: 'manual' } } });
  const viewer = (await t.api('POST', '/v1/tokens', { body: { role: 'viewer' } })).body.token;
  const now = await t.api('GET', '/v1/changes', { token: viewer });
  expect(now.status).toBe(200);
  expect(now.headers['x-portwarden-index']).toBe(String(now.body.index));
  let index = now.body.index as number;

  // a license of any service
  let { held } = await hold(t, index, '30s', viewer);
  const license = (await t.api('POST', '/v1/licenses', { body: issueBody({ service: 'orders' }) })).body;
  let woken = await held;
  expect(woken.answer.body.index).toBeGreaterThan(index);
  index = woken.answer.body.index;

  // register changes that license nothing: a request, a rejection
  for (const change of [() => requestPort(t, { env: 'prod' }), () => t.api('POST', `/v1/ports/${encodeURIComponent('payments/api')}/reject?env=prod`, { body: { reason: 'no' } })]) {
    ({ held } = await hold(t, index));
    const at = performance.now();
    expect((await change()).status).toBeLessThan(300);
    woken = await held;
    expect(woken.answer.body.index).toBeGreaterThan(index);
    expect(woken.at - at).toBeLessThan(1_000);
    index = woken.answer.body.index;
  }

  // a revocation
  ({ held } = await hold(t, index));
  await t.api('POST', `/v1/licenses/${license.lid}/revoke`, { body: {} });
  expect((await held).answer.body.index).toBeGreaterThan(index);

  // nothing changes: answered when the wait passes, with the same index
  const current = (await t.api('GET', '/v1/changes')).body.index as number;
  const started = performance.now();
  const idle = await t.api('GET', `/v1/changes?index=${current}&wait=300ms`);
  expect(idle.body.index).toBe(current);
  expect(performance.now() - started).toBeGreaterThanOrEqual(280);
  // an index ahead of the store (a restored backup) is answered at once with the store's
  expect((await t.api('GET', `/v1/changes?index=${current + 100}&wait=30s`)).body.index).toBe(current);

  for (const bad of ['index=-1', 'index=x', 'wait=soon&index=1', 'since=1']) {
    const answer = await t.api('GET', `/v1/changes?${bad}`);
    expect([bad, answer.status, answer.body.error.code]).toEqual([bad, 400, 'bad_request']);
  }
});

it('a register change does not wake the blocking queries of sidecars', async () => {
  const t = await startTestAuthority({ config: { register: { approval: 'manual' } } });
  const index = (await t.api('GET', '/v1/changes')).body.index as number;
  const sidecar = (await t.api('POST', '/v1/tokens', { body: { role: 'sidecar', service: 'payments' } })).body.token;
  const started = performance.now();
  const held = t.api('GET', `/v1/licenses?index=${index}&wait=1s`, { token: sidecar });
  await waitFor(() => t.authority.context.hub.size === 1, { what: 'the sidecar query to be held' });
  expect((await requestPort(t, { env: 'prod' })).status).toBe(201);
  const answer = await held;
  expect(performance.now() - started).toBeGreaterThanOrEqual(950);
  expect(answer.body.licenses).toEqual([]);
});

it('shutdown answers an open change feed at once instead of waiting for it', async () => {
  const t = await startTestAuthority({ config: { shutdown_timeout: '20s' } });
  const index = (await t.api('GET', '/v1/changes')).body.index as number;
  const { held } = await hold(t, index, '5m');
  const closing = performance.now();
  await t.authority.close();
  const { answer, at } = await held;
  expect([answer.status, answer.body.index]).toEqual([200, index]);
  expect(at - closing).toBeLessThan(2_000);
  expect(performance.now() - closing).toBeLessThan(2_000);
});

it('a held change feed counts against the token\'s blocking queries: beyond limits.max_watches_per_token it is 429 too_many_watches', async () => {
  const t = await startTestAuthority({ config: { limits: { max_watches: 10, max_watches_per_token: 2 } } });
  const viewer = (await t.api('POST', '/v1/tokens', { body: { role: 'viewer' } })).body.token;
  const index = (await t.api('GET', '/v1/changes', { token: viewer })).body.index as number;
  const first = await hold(t, index, '30s', viewer);
  const second = await hold(t, index, '30s', viewer);
  const third = await t.api('GET', `/v1/changes?index=${index}&wait=30s`, { token: viewer });
  expect([third.status, third.body.error.code, third.headers['retry-after']]).toEqual([429, 'too_many_watches', '5']);
  // an answer at once needs no place, and the places come back when the held ones are answered
  expect((await t.api('GET', '/v1/changes', { token: viewer })).status).toBe(200);
  await t.api('POST', '/v1/licenses', { body: issueBody() });
  const woken = (await first.held).answer;
  expect(woken.status).toBe(200);
  expect((await second.held).answer.status).toBe(200);
  const again = await hold(t, woken.body.index as number, '30s', viewer);
  await t.api('POST', '/v1/licenses', { body: issueBody({ service: 'orders' }) });
  expect((await again.held).answer.status).toBe(200);
});

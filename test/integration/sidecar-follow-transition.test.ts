import { createServer } from 'node:net';
import { expect, it, onTestFinished } from 'vitest';
import { startTestAuthority, type TestAuthority } from '../helpers/authority.ts';
import { listening, startLicensedSidecar } from '../helpers/licensed-sidecar.ts';
import { freePortIn } from '../helpers/ports.ts';
import { portPath, requestPort } from '../helpers/register.ts';
import { closedBy, connectTo, echo, echoes, startUpstream, testConfig } from '../helpers/sidecar-harness.ts';
import { LOCAL_IDENTITY } from '../helpers/static-license-source.ts';
import { waitFor } from '../helpers/wait.ts';

/** A port `payments/api` on one free number with a license, an echo upstream, and a free number to move to. */
async function onePort(t: TestAuthority) {
  const oldNumber = await freePortIn(20000, 29999);
  const newNumber = await freePortIn(20000, 29999, [oldNumber]);
  const requested = await requestPort(t, { env: 'prod', number: oldNumber, license: { allow: [LOCAL_IDENTITY], ttl: '2h' } });
  expect(requested.status).toBe(201);
  const upstream = await startUpstream(echo);
  return { id: requested.body.id as string, oldLid: requested.body.licenses[0].lid as string, oldNumber, newNumber, upstream: upstream.address };
}

/** Starts a transition to `to` through the API; the new number's lid. */
async function transition(t: TestAuthority, to: number): Promise<string> {
  const moving = await t.api('POST', portPath('payments/api', 'transition', 'prod'), { body: { to, window: '1h' } });
  expect(moving.body).toMatchObject({ state: 'transitioning', transition: { to } });
  return moving.body.licenses.find((l: { number: number }) => l.number === to).lid as string;
}

it('follows a transition: listens on the new number within a second, and stops when it is cancelled', async () => {
  const t = await startTestAuthority();
  const { oldNumber, newNumber, upstream, oldLid } = await onePort(t);
  const s = await startLicensedSidecar(t, testConfig([{ name: 'api', upstream, listen: `127.0.0.1:${oldNumber}` }]));
  await waitFor(() => s.sync.get('api', oldNumber)?.claims.lid === oldLid, { what: 'the license' });
  expect(await listening(newNumber)).toBe(false);

  const newLid = await transition(t, newNumber);
  await waitFor(() => listening(newNumber), { what: 'a listener on the new number', timeoutMs: 1_000 });
  expect(await s.attempt(newNumber)).toBe('admitted');
  expect(await s.attempt(oldNumber)).toBe('admitted');
  const status = (await s.admin('/status')).body.ports as { listen: string; listens: unknown[] }[];
  expect(status[0]?.listen).toBe(`127.0.0.1:${oldNumber}`);
  expect(status[0]?.listens).toEqual([
    expect.objectContaining({ listen: `127.0.0.1:${oldNumber}`, license: expect.objectContaining({ lid: oldLid, admitting: true }) }),
    expect.objectContaining({ listen: `127.0.0.1:${newNumber}`, followed: true, accepting: true, license: expect.objectContaining({ lid: newLid, admitting: true }) }),
  ]);
  expect(s.logs.find((line) => line.msg === 'listening on a transition number')).toMatchObject({ port: 'api', listen: `127.0.0.1:${newNumber}`, followed: true });

  // cancel: the new number's license is revoked; its caller is cut (on_revoke close) and it stops listening
  const onNew = await connectTo({ host: '127.0.0.1', port: newNumber });
  expect(await echoes(onNew, 'new')).toBe(true);
  const newEnd = closedBy(onNew);
  const cancelled = await t.api('POST', portPath('payments/api', 'transition/cancel', 'prod'), { body: {} });
  expect(cancelled.body).toMatchObject({ state: 'active', number: oldNumber });
  expect(await newEnd).toBe('ECONNRESET');
  expect(s.records.find((record) => record.lid === newLid && record.closeReason === 'revoked')).toBeDefined();
  await waitFor(async () => !(await listening(newNumber)), { what: 'the new number to stop listening' });
  await expect(connectTo({ host: '127.0.0.1', port: newNumber })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  expect(await s.attempt(oldNumber)).toBe('admitted');
  await waitFor(async () => ((await s.admin('/status')).body.ports as { listens?: unknown }[])[0]?.listens === undefined, { what: 'status without the followed number' });
});

it('on_revoke drain: a cancelled transition stops accepting on the new number and lets its open connection finish', async () => {
  const t = await startTestAuthority();
  const { oldNumber, newNumber, upstream } = await onePort(t);
  const s = await startLicensedSidecar(t, testConfig([{ name: 'api', upstream, listen: `127.0.0.1:${oldNumber}`, on_revoke: 'drain' }]));
  const newLid = await transition(t, newNumber);
  await waitFor(() => listening(newNumber), { what: 'a listener on the new number', timeoutMs: 1_000 });
  const onNew = await connectTo({ host: '127.0.0.1', port: newNumber });
  expect(await echoes(onNew, 'new')).toBe(true);

  await t.api('POST', portPath('payments/api', 'transition/cancel', 'prod'), { body: {} });
  await waitFor(async () => !(await listening(newNumber)), { what: 'the new number to stop listening' });
  expect(await echoes(onNew, 'still draining')).toBe(true);
  const ended = closedBy(onNew);
  onNew.end();
  expect(await ended).not.toBe('ECONNRESET');
  const record = await waitFor(() => s.records.find((entry) => entry.lid === newLid), { what: 'the access record' });
  expect(record.closeReason).not.toBe('revoked');
});

it('after a completed transition the old number refuses with revoked, the new one admits, and a reload adopts it', async () => {
  const t = await startTestAuthority();
  const { id, oldNumber, newNumber, upstream, oldLid } = await onePort(t);
  const s = await startLicensedSidecar(t, testConfig([{ name: 'api', upstream, listen: `127.0.0.1:${oldNumber}` }]));
  const newLid = await transition(t, newNumber);
  await waitFor(() => listening(newNumber), { what: 'a listener on the new number', timeoutMs: 1_000 });
  const onNew = await connectTo({ host: '127.0.0.1', port: newNumber });
  expect(await echoes(onNew, 'new')).toBe(true);

  const completed = await t.api('POST', `/v1/ports/${id}/transition/complete`, { body: {} });
  expect(completed.body).toMatchObject({ state: 'active', number: newNumber });
  await waitFor(() => s.sync.get('api', oldNumber)?.revoked, { what: 'the old license revoked at the sidecar' });
  // the configured number keeps listening and refuses; the followed one keeps serving
  expect(await s.attempt(oldNumber)).toBe('refused: revoked');
  expect(await s.attempt(newNumber)).toBe('admitted');
  expect(await echoes(onNew, 'the new number keeps serving')).toBe(true);
  expect((await s.admin('/readyz')).status).toBe(200);
  const hints = () => s.logs.filter((line) => String(line.msg).includes('in ports[].listen'));
  await waitFor(() => hints().length > 0, { what: 'the hint to put the new number in the file' });
  await new Promise((resolve) => setTimeout(resolve, 100));
  const hint = hints();
  expect(hint).toHaveLength(1);
  expect(hint[0]?.msg).toContain(`put 127.0.0.1:${newNumber} in ports[].listen`);
  expect(hint[0]).toMatchObject({ configured: oldNumber, followed: newNumber });
  expect((await s.admin('/status')).body.ports).toEqual([
    expect.objectContaining({
      license: expect.objectContaining({ lid: newLid, admitting: true }),
      listens: [
        expect.objectContaining({ listen: `127.0.0.1:${oldNumber}`, license: expect.objectContaining({ lid: oldLid, health: 'missing' }) }),
        expect.objectContaining({ listen: `127.0.0.1:${newNumber}`, followed: true, license: expect.objectContaining({ lid: newLid }) }),
      ],
    }),
  ]);

  // the operator puts the new number in the file: the listener is adopted, its connection untouched
  await s.reload(testConfig([{ name: 'api', upstream, listen: `127.0.0.1:${newNumber}` }]));
  expect(await echoes(onNew, 'the same connection')).toBe(true);
  expect(await s.attempt(newNumber)).toBe('admitted');
  await expect(connectTo({ host: '127.0.0.1', port: oldNumber })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  const after = (await s.admin('/status')).body.ports as Record<string, unknown>[];
  expect(after).toEqual([expect.objectContaining({ listen: `127.0.0.1:${newNumber}`, license: expect.objectContaining({ health: 'ok', lid: newLid }) })]);
  expect(after[0]).not.toHaveProperty('listens');
  expect(await s.metric('portwarden_follow_listen_failures_total', { port: 'api' })).toBeUndefined();
});

it('follow_transitions: false refuses the new number license as a port-number mismatch, shown in /status', async () => {
  const t = await startTestAuthority();
  const { oldNumber, newNumber, upstream } = await onePort(t);
  const s = await startLicensedSidecar(t, testConfig([{ name: 'api', upstream, listen: `127.0.0.1:${oldNumber}`, follow_transitions: false }]));
  await transition(t, newNumber);
  const problem = await waitFor(() => ((s.sidecar.status() as { ports: { license: { problem?: string } }[] }).ports[0]?.license.problem), { what: 'the refusal in /status' });
  expect(problem).toContain(`license is for port number ${newNumber}, the port listens on ${oldNumber}`);
  expect(await listening(newNumber)).toBe(false);
  expect(await s.attempt(oldNumber)).toBe('admitted');
  expect(await s.metric('portwarden_license_rejected_total', { reason: 'port' })).toBe(1);
});

it('a restart while the authority is down listens on the followed number again, from last-known-good', async () => {
  const t = await startTestAuthority();
  const { oldNumber, newNumber, upstream } = await onePort(t);
  const config = testConfig([{ name: 'api', upstream, listen: `127.0.0.1:${oldNumber}` }]);
  const first = await startLicensedSidecar(t, config);
  const newLid = await transition(t, newNumber);
  await waitFor(() => listening(newNumber), { what: 'a listener on the new number', timeoutMs: 1_000 });
  await first.close();
  await t.authority.close();
  expect(await listening(newNumber)).toBe(false);

  const again = await startLicensedSidecar(t, config, { dir: first.dir });
  await waitFor(() => listening(newNumber), { what: 'the followed number from the cache', timeoutMs: 1_000 });
  expect(again.sync.authorityReachable).toBe(false);
  expect(again.sync.get('api', newNumber)?.claims.lid).toBe(newLid);
  expect(await again.attempt(newNumber)).toBe('admitted');
  expect(await again.attempt(oldNumber)).toBe('admitted');
});

it('a transition number that cannot bind is logged and counted, and the port keeps serving on its configured number', async () => {
  const t = await startTestAuthority();
  const { oldNumber, newNumber, upstream } = await onePort(t);
  const squatter = createServer();
  await new Promise<void>((resolve) => squatter.listen({ host: '127.0.0.1', port: newNumber }, resolve));
  onTestFinished(() => new Promise<void>((resolve) => squatter.close(() => resolve())));
  const s = await startLicensedSidecar(t, testConfig([{ name: 'api', upstream, listen: `127.0.0.1:${oldNumber}` }]));
  await transition(t, newNumber);
  await waitFor(async () => (await s.metric('portwarden_follow_listen_failures_total', { port: 'api', code: 'EADDRINUSE' })) === 1, { what: 'the failure counted' });
  expect(s.logs.filter((line) => String(line.msg).startsWith('cannot listen on a transition number'))).toHaveLength(1);
  expect(s.sidecar.status()).toMatchObject({ state: 'running' });
  expect(await s.attempt(oldNumber)).toBe('admitted');
});

it('a followed number whose license expires stops listening; its open connection is cut as expired', async () => {
  const t = await startTestAuthority();
  const { oldNumber, newNumber, upstream } = await onePort(t);
  const s = await startLicensedSidecar(t, testConfig([{ name: 'api', upstream, listen: `127.0.0.1:${oldNumber}` }]));
  const newLid = await transition(t, newNumber);
  await waitFor(() => listening(newNumber), { what: 'a listener on the new number', timeoutMs: 1_000 });
  const onNew = await connectTo({ host: '127.0.0.1', port: newNumber });
  expect(await echoes(onNew, 'new')).toBe(true);
  const newEnd = closedBy(onNew);

  // past both licenses' exp (ttl 2h), with no renewal
  t.clock.advance(2 * 3_600_000 + 60_000);
  expect(await newEnd).toBe('ECONNRESET');
  await waitFor(async () => !(await listening(newNumber)), { what: 'the expired number to stop listening' });
  // the echoing connection, not the probes of `listening` (which close at once, as the caller)
  expect(s.records.find((record) => record.lid === newLid && record.bytesIn > 0)?.closeReason).toBe('expired');
  expect(await s.attempt(oldNumber)).toMatch(/^refused: (expired|revoked)$/);
});

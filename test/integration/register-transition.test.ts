import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { expect, it, onTestFinished } from 'vitest';
import { registerOf } from '../../src/authority/register/service.ts';
import type { ManualClock } from '../../src/shared/clock.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { decide } from '../../src/sidecar/proxy/decide.ts';
import { LicenseSync } from '../../src/sidecar/licenses/sync.ts';
import { createSidecarMetrics } from '../../src/sidecar/admin/metrics.ts';
import { startTestAuthority, type TestAuthority } from '../helpers/authority.ts';
import { auditOf, portPath, requestPort } from '../helpers/register.ts';
import { tempDir } from '../helpers/tmp.ts';
import { waitFor } from '../helpers/wait.ts';

const caller = 'spiffe://corp/ns/billing/sa/api';
const hour = 3_600_000;

/** A real sidecar license sync for payments whose port `api` listens on `listen`. */
async function syncFor(t: TestAuthority, listen: number): Promise<LicenseSync> {
  const dir = await tempDir('portwarden-sync-');
  const token = (await t.api('POST', '/v1/tokens', { body: { role: 'sidecar', service: 'payments' } })).body.token as string;
  await writeFile(join(dir, 'sidecar.token'), token, { mode: 0o600 });
  const sync = new LicenseSync({
    service: 'payments',
    authority: { url: t.url, issuer: 'portwarden-authority', token_file: join(dir, 'sidecar.token'), refresh: 300_000, cache_dir: join(dir, 'cache'), clock_tolerance: 0 },
    ports: [{ name: 'api', listenPort: listen }],
    clock: t.clock,
    logger: createLogger({ level: 'silent' }),
    metrics: createSidecarMetrics(new Registry(), { processDefaults: false }),
  });
  onTestFinished(() => sync.close());
  await sync.start();
  return sync;
}

function admits(sync: LicenseSync, clock: ManualClock) {
  return decide(sync.get('api'), caller, { now: clock.now(), clockToleranceMs: 0, expiryGraceMs: 0, authorityReachable: true });
}

it('licenses both numbers for the window, then releases the old one and revokes its license (real sidecar syncs on each number)', async () => {
  const t = await startTestAuthority({ renewIntervalMs: 20 });
  const port = (await requestPort(t, { env: 'prod', number: 20001, license: { allow: [caller], ttl: '2h' } })).body;
  const oldLid = port.licenses[0].lid;
  // the deployment on the old number, and the new one brought up on the new number
  const before = await syncFor(t, 20001);
  const after = await syncFor(t, 20002);
  await waitFor(() => before.get('api')?.claims.lid === oldLid, { what: 'the old license' });

  const moving = await t.api('POST', portPath('payments/api', 'transition', 'prod'), { body: { to: 20002, window: '1h' } });
  expect(moving.status).toBe(200);
  expect(moving.body).toMatchObject({ state: 'transitioning', number: 20001, transition: { to: 20002, window_ends_at: '2026-01-01T13:00:00.000Z' } });
  const newLid = moving.body.licenses.find((l: { number: number }) => l.number === 20002).lid;
  expect(moving.body.licenses.map((l: { number: number; state: string; allow: string[] }) => [l.number, l.state, l.allow])).toEqual([
    [20001, 'active', [caller]],
    [20002, 'active', [caller]],
  ]);
  expect((await t.api('GET', `/v1/licenses/${newLid}`)).body).toMatchObject({ sub: 'payments/api', env: 'prod', ttl: '2h', port: { number: 20002 } });
  // both numbers are held: nobody else gets either
  for (const number of [20001, 20002]) expect((await requestPort(t, { service: 'orders', name: 'grpc', env: 'prod', number })).body.error.code).toBe('port_taken');
  const located = (await t.api('GET', '/v1/discover/payments/api?env=prod')).body;
  expect(located).toMatchObject({ number: 20001, transition: { to: 20002 }, licenses: [oldLid, newLid] });

  // both deployments admit the caller during the window
  await waitFor(() => after.get('api')?.claims.lid === newLid, { what: 'the new number license at the new deployment' });
  expect(admits(before, t.clock)).toEqual({ allow: true });
  expect(admits(after, t.clock)).toEqual({ allow: true });

  t.clock.advance(hour - 1);
  // what every sweep asks: nothing is due a millisecond before the window ends
  expect(await registerOf(t.authority.context).transitionsDue()).toEqual([]);
  expect((await t.api('GET', `/v1/ports/${port.id}`)).body.state).toBe('transitioning');

  t.clock.advance(1);
  const done = await waitFor(async () => {
    const body = (await t.api('GET', `/v1/ports/${port.id}`)).body;
    return body.state === 'active' ? body : undefined;
  }, { what: 'the window to end' });
  expect(done).toMatchObject({ number: 20002, transition: null, previous_numbers: [{ number: 20001, released_at: '2026-01-01T13:00:00.000Z' }] });
  expect(done.licenses.map((l: { lid: string; state: string }) => [l.lid, l.state])).toEqual([
    [oldLid, 'revoked'],
    [newLid, 'active'],
  ]);
  await waitFor(() => before.get('api')?.revoked, { what: 'the old deployment to hear of the revocation' });
  expect(admits(before, t.clock)).toEqual({ allow: false, reason: 'revoked' });
  expect(admits(after, t.clock)).toEqual({ allow: true });

  const [entry] = await auditOf(t, 'port.transition.complete');
  expect(entry).toMatchObject({ actor: 'system', after: { reason: 'window_ended', released: 20001, revoked: [oldLid], number: 20002 } });
  expect((await auditOf(t, 'port.transition'))[0]).toMatchObject({ actor: 'env-admin', after: { window: '1h', issued: [newLid] } });
  // the old number cools down like a released one
  const reuse = await requestPort(t, { service: 'orders', name: 'grpc', env: 'prod', number: 20001 });
  expect(reuse.body.error.message).toMatch(/^refused by rule cooldown: /);
});

it('keeps the window across a restart: the first sweep after start ends a window that passed while down', async () => {
  const first = await startTestAuthority();
  const port = (await requestPort(first, { env: 'prod', number: 20001, license: { allow: [caller] } })).body;
  await first.api('POST', `/v1/ports/${port.id}/transition`, { body: { to: 20002, window: '30m' } });
  await first.authority.close();

  first.clock.advance(2 * hour);
  const second = await startTestAuthority({ dataDir: first.dataDir, clock: first.clock });
  const done = await waitFor(async () => {
    const body = (await second.api('GET', `/v1/ports/${port.id}`)).body;
    return body.state === 'active' ? body : undefined;
  }, { what: 'the sweep at start' });
  expect(done).toMatchObject({ number: 20002, previous_numbers: [{ number: 20001, released_at: '2026-01-01T14:00:00.000Z' }] });
  expect(done.licenses.map((l: { number: number; state: string }) => [l.number, l.state])).toEqual([
    [20001, 'revoked'],
    [20002, 'active'],
  ]);
});

it('cancel goes back to the old number (the new one released and its license revoked); complete ends the window early', async () => {
  const t = await startTestAuthority();
  const port = (await requestPort(t, { env: 'prod', number: 20001, license: { allow: [caller] } })).body;
  const started = (await t.api('POST', `/v1/ports/${port.id}/transition`, { body: { to: 20002, window: '1h' } })).body;
  const newLid = started.licenses[1].lid;

  const cancelled = await t.api('POST', portPath('payments/api', 'transition/cancel', 'prod'), { body: {} });
  expect(cancelled.body).toMatchObject({ state: 'active', number: 20001, transition: null, previous_numbers: [{ number: 20002 }] });
  expect(cancelled.body.licenses.map((l: { number: number; state: string }) => [l.number, l.state])).toEqual([
    [20001, 'active'],
    [20002, 'revoked'],
  ]);
  expect((await auditOf(t, 'port.transition.cancel'))[0]).toMatchObject({ actor: 'env-admin', after: { released: 20002, revoked: [newLid] } });
  expect((await requestPort(t, { service: 'orders', name: 'grpc', env: 'prod', number: 20002 })).body.error.message).toMatch(/^refused by rule cooldown: /);
  const notMoving = await t.api('POST', `/v1/ports/${port.id}/transition/complete`, { body: {} });
  expect(notMoving.body.error).toEqual({ code: 'conflict', message: 'payments/api in prod is active, not transitioning' });

  // a port may move back onto a number it cooled itself
  await t.api('POST', `/v1/ports/${port.id}/transition`, { body: { to: 20002, window: '1h' } });
  const twice = await t.api('POST', `/v1/ports/${port.id}/transition`, { body: { to: 20003, window: '1h' } });
  expect(twice.body.error.code).toBe('conflict');
  t.clock.advance(60_000);
  const completed = await t.api('POST', `/v1/ports/${port.id}/transition/complete`, { body: {} });
  expect(completed.body).toMatchObject({ state: 'active', number: 20002, transition: null });
  expect(completed.body.previous_numbers.map((p: { number: number }) => p.number)).toEqual([20002, 20001]);
  expect(completed.body.licenses.filter((l: { state: string }) => l.state === 'active').map((l: { number: number }) => l.number)).toEqual([20002]);
  expect((await auditOf(t, 'port.transition.complete'))[0]).toMatchObject({ actor: 'env-admin', after: { reason: 'completed', released: 20001 } });
});

it('releasing a port in a transition releases both numbers and revokes both licenses', async () => {
  const t = await startTestAuthority();
  const port = (await requestPort(t, { env: 'prod', number: 20001, license: { allow: [caller] } })).body;
  await t.api('POST', `/v1/ports/${port.id}/transition`, { body: { to: 20002, window: '1h' } });
  const released = (await t.api('POST', `/v1/ports/${port.id}/release`, { body: {} })).body;
  expect(released).toMatchObject({ state: 'released', number: 20001, transition: null, previous_numbers: [{ number: 20002 }] });
  expect(released.licenses.map((l: { state: string }) => l.state)).toEqual(['revoked', 'revoked']);
  for (const number of [20001, 20002]) {
    expect((await requestPort(t, { service: 'orders', name: `n${number}`, env: 'prod', number })).body.error.message).toMatch(/^refused by rule cooldown: /);
  }
  const ephemeral = (await requestPort(t, { name: 'debug', kind: 'ephemeral', env: 'prod' })).body;
  expect([ephemeral.number, ephemeral.allocation.source]).toEqual([null, 'none']);
  const cannot = await t.api('POST', `/v1/ports/${ephemeral.id}/transition`, { body: { to: 20005, window: '1h' } });
  expect(cannot.body.error).toEqual({ code: 'conflict', message: 'payments/debug is ephemeral: the register holds no number to move' });
});

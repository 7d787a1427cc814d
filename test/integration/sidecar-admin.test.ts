import { expect, it } from 'vitest';
import { connectTo, echo, startSidecar, startUpstream, testConfig } from '../helpers/sidecar-harness.ts';
import { testLicense } from '../helpers/static-license-source.ts';
import { waitFor } from '../helpers/wait.ts';

it('answers /livez, /healthz, /readyz and /status, and 404s unknown paths with a JSON error', async () => {
  const upstream = await startUpstream(echo);
  const h = await startSidecar(testConfig([{ name: 'api', upstream: upstream.address }, { name: 'web', upstream: upstream.address }]), {
    licensed: false,
  });
  const get = async (path: string, init?: RequestInit) => {
    const response = await fetch(`${h.adminUrl()}${path}`, init);
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  h.source.set('api', testLicense({ port: 'api', lid: 'lid-api' }));
  h.source.lastSyncAt = Date.UTC(2026, 0, 1);

  expect(await get('/livez')).toEqual({ status: 200, body: { status: 'ok' } });
  expect((await get('/healthz')).status).toBe(200);
  // one port without a license: not ready
  const notReady = await get('/readyz');
  expect(notReady.status).toBe(503);
  expect(notReady.body.ports).toEqual([
    { name: 'api', health: 'ok' },
    { name: 'web', health: 'missing' },
  ]);
  // a license that is not valid yet admits nobody: degraded, and still not ready
  h.source.set('web', testLicense({ port: 'web', nbfOffsetMs: 3_600_000, ttlMs: 7_200_000 }));
  const early = await get('/readyz');
  expect(early.status).toBe(503);
  expect(early.body).toMatchObject({ reason: 'no license admits on web', ports: [{ name: 'api', health: 'ok' }, { name: 'web', health: 'degraded' }] });
  h.source.set('web', testLicense({ port: 'web' }));
  expect((await get('/readyz')).status).toBe(200);

  await connectTo(h.address('api'));
  await waitFor(() => upstream.sockets.size === 1);
  const status = await get('/status');
  expect(status.status).toBe(200);
  expect(status.body).toMatchObject({ service: 'payments', ready: true, lastSync: '2026-01-01T00:00:00.000Z' });
  expect(status.body.ports).toEqual([
    expect.objectContaining({
      name: 'api',
      listen: `127.0.0.1:${h.address('api').port}`,
      upstream: upstream.address,
      activeConnections: 1,
      expiryGrace: '0s',
      onRevoke: 'close',
      license: expect.objectContaining({ health: 'ok', admitting: true, lid: 'lid-api' }),
    }),
    expect.objectContaining({ name: 'web', activeConnections: 0 }),
  ]);

  expect(await get('/nope')).toEqual({ status: 404, body: { error: { code: 'not_found', message: expect.any(String) } } });
  expect((await get('/readyz', { method: 'POST' })).body).toEqual({ error: { code: 'method_not_allowed', message: expect.any(String) } });
});

it('turns not ready as shutdown starts, while open connections still drain', async () => {
  const upstream = await startUpstream(echo);
  const h = await startSidecar(testConfig([{ name: 'api', upstream: upstream.address }]));
  const client = await connectTo(h.address('api'));
  await waitFor(() => upstream.sockets.size === 1);
  expect((await fetch(`${h.adminUrl()}/readyz`)).status).toBe(200);

  const closing = h.sidecar.close({ deadlineMs: 10_000 });
  const readyz = await fetch(`${h.adminUrl()}/readyz`);
  expect(readyz.status).toBe(503);
  expect(await readyz.json()).toMatchObject({ ready: false, reason: 'shutting_down' });
  expect((await fetch(`${h.adminUrl()}/healthz`)).status).toBe(503);
  client.end();
  expect(await closing).toBe(false); // drained before the deadline
});

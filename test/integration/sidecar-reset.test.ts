import { expect, it } from 'vitest';
import { closedBy, connectTo, sendRandom, startSidecar, startUpstream, testConfig } from '../helpers/sidecar-harness.ts';

it('passes a reset from the caller mid-transfer on to the upstream', async () => {
  const { promise: upstreamEnd, resolve } = Promise.withResolvers<string>();
  const { promise: flowing, resolve: started } = Promise.withResolvers<void>();
  const upstream = await startUpstream((socket) => {
    socket.once('data', () => started());
    void closedBy(socket).then(resolve);
  });
  const h = await startSidecar(testConfig([{ name: 'api', upstream: upstream.address }]));
  const client = await connectTo(h.address('api'));
  client.on('error', () => undefined);
  void sendRandom(client, 64 * 1024 * 1024).catch(() => undefined);
  await flowing;
  client.resetAndDestroy();

  expect(await upstreamEnd).toBe('ECONNRESET');
  await expect.poll(() => h.records[0]?.closeReason).toBe('client_reset');
  expect(await h.metric('portwarden_connections_active', { port: 'api' })).toBe(0);
});

it('passes a reset from the upstream mid-transfer on to the caller', async () => {
  const upstream = await startUpstream((socket) => {
    void sendRandom(socket, 64 * 1024 * 1024).catch(() => undefined);
    setImmediate(() => socket.resetAndDestroy());
  });
  const h = await startSidecar(testConfig([{ name: 'api', upstream: upstream.address }]));
  const client = await connectTo(h.address('api'));

  expect(await closedBy(client)).toBe('ECONNRESET');
  await expect.poll(() => h.records[0]?.closeReason).toBe('upstream_reset');
});

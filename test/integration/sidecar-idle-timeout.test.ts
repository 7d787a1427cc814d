import { expect, it } from 'vitest';
import { connectTo, readAll, startSidecar, startUpstream, testConfig } from '../helpers/sidecar-harness.ts';

it('closes a connection on which no byte moved for timeouts.idle, on both sides', async () => {
  const { promise: atUpstream, resolve } = Promise.withResolvers<Awaited<ReturnType<typeof readAll>>>();
  const upstream = await startUpstream((socket) => void readAll(socket).then(resolve));
  const h = await startSidecar(testConfig([{ name: 'api', upstream: upstream.address, timeouts: { idle: '300ms' } }]));
  const client = await connectTo(h.address('api'));
  client.write('one request, then silence');

  const { error } = await readAll(client);
  expect(error).toBeUndefined();
  const upstreamSide = await atUpstream;
  expect(upstreamSide.data.toString()).toBe('one request, then silence');
  await expect.poll(() => h.metric('portwarden_connections_closed_total', { port: 'api', reason: 'idle_timeout' })).toBe(1);
  expect(h.records[0]).toMatchObject({ closeReason: 'idle_timeout', bytesIn: 25 });
});

import { expect, it } from 'vitest';
import { connectTo, hashIncoming, sendRandom, startSidecar, startUpstream, testConfig } from '../helpers/sidecar-harness.ts';

const size = 64 * 1024 * 1024;

it('forwards 64 MiB each way at once, byte-exact, and counts the bytes', async () => {
  const { promise: atUpstream, resolve } = Promise.withResolvers<[{ hash: string; bytes: number }, string]>();
  const upstream = await startUpstream((socket) => {
    const received = hashIncoming(socket);
    const sent = sendRandom(socket, size).then((hash) => {
      socket.end();
      return hash;
    });
    resolve(Promise.all([received, sent]));
  });
  const h = await startSidecar(testConfig([{ name: 'api', upstream: upstream.address }]));

  const client = await connectTo(h.address('api'));
  const clientReceived = hashIncoming(client);
  const clientSent = await sendRandom(client, size);
  client.end();
  const [fromUpstream, [receivedUpstream, upstreamSent]] = await Promise.all([clientReceived, atUpstream]);

  expect(receivedUpstream).toEqual({ hash: clientSent, bytes: size });
  expect(fromUpstream).toEqual({ hash: upstreamSent, bytes: size });
  await expect.poll(() => h.records.length).toBe(1);
  expect(h.records[0]).toMatchObject({ decision: 'allow', bytesIn: size, bytesOut: size, port: 'api' });
  expect(await h.metric('portwarden_bytes_total', { port: 'api', direction: 'in' })).toBe(size);
  expect(await h.metric('portwarden_bytes_total', { port: 'api', direction: 'out' })).toBe(size);
});

import { createHash } from 'node:crypto';
import { expect, it } from 'vitest';
import { connectTo, hashIncoming, readAll, sendRandom, startSidecar, startUpstream, testConfig } from '../helpers/sidecar-harness.ts';

it('forwards the caller half-close and still delivers the whole reply after it', async () => {
  // the upstream answers only after the request has ended, as `nc -N` style clients expect
  const upstream = await startUpstream((socket) => {
    const request = hashIncoming(socket);
    void request.then(async ({ hash }) => {
      socket.write(`${hash}\n`);
      await sendRandom(socket, 4 * 1024 * 1024);
      socket.end();
    });
  });
  const h = await startSidecar(testConfig([{ name: 'api', upstream: upstream.address }]));
  const client = await connectTo(h.address('api'));
  const reply = readAll(client);
  const sent = await sendRandom(client, 256 * 1024);
  client.end();

  const { data, error } = await reply;
  expect(error).toBeUndefined();
  const newline = data.indexOf('\n');
  expect(data.subarray(0, newline).toString()).toBe(sent);
  expect(data.length - newline - 1).toBe(4 * 1024 * 1024);
  await expect.poll(() => h.records[0]?.closeReason).toBe('client');
});

it('forwards the upstream half-close and keeps carrying what the caller still sends', async () => {
  const { promise: received, resolve } = Promise.withResolvers<string>();
  const upstream = await startUpstream((socket) => {
    socket.end('bye\n'); // the upstream is done talking, but still listens
    void hashIncoming(socket).then(({ hash }) => resolve(hash));
  });
  const h = await startSidecar(testConfig([{ name: 'api', upstream: upstream.address }]));
  const client = await connectTo(h.address('api'));
  const ended = new Promise<string>((done) => {
    let text = '';
    client.on('data', (chunk: Buffer) => (text += chunk.toString()));
    client.once('end', () => done(text));
  });
  expect(await ended).toBe('bye\n');

  const late = Buffer.from('still here after your FIN');
  client.end(late);
  expect(await received).toBe(createHash('sha256').update(late).digest('hex'));
  await expect.poll(() => h.records[0]?.closeReason).toBe('upstream');
});

it('cuts a half-open connection when the half_close deadline passes', async () => {
  const upstream = await startUpstream(() => undefined); // never answers, never ends
  const h = await startSidecar(testConfig([{ name: 'api', upstream: upstream.address, timeouts: { half_close: '200ms' } }]));
  const client = await connectTo(h.address('api'));
  const closed = readAll(client);
  client.end('request');
  await closed;
  await expect.poll(() => h.metric('portwarden_connections_closed_total', { port: 'api', reason: 'half_close_timeout' })).toBe(1);
});

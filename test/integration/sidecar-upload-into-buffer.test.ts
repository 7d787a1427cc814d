import { expect, it } from 'vitest';
import type { Socket } from 'node:net';
import { connectTo, hashIncoming, openFds, readAll, sendRandom, startSidecar, startUpstream, testConfig } from '../helpers/sidecar-harness.ts';
import { waitFor } from '../helpers/wait.ts';

// A plain caller that sends bulk reads into a buffer of its connection from then on
// (`readIntoBuffer`); these tests hold that path to the same contract as Node's own.

const size = 64 * 1024 * 1024;

it('delivers a 64 MiB upload through a plain listener byte-exact, and counts it', async () => {
  const { promise: atUpstream, resolve } = Promise.withResolvers<{ hash: string; bytes: number }>();
  const upstream = await startUpstream((socket) => {
    // the upstream answers only once the caller's end arrived, as a sink that acknowledges
    resolve(
      hashIncoming(socket).then((received) => {
        socket.end('k');
        return received;
      }),
    );
  });
  const h = await startSidecar(testConfig([{ name: 'api', upstream: upstream.address }]));

  const client = await connectTo(h.address('api'));
  const reply = readAll(client);
  const sent = await sendRandom(client, size);
  client.end();
  expect(await atUpstream).toEqual({ hash: sent, bytes: size });
  expect((await reply).data.toString()).toBe('k');
  await expect.poll(() => h.records.length).toBe(1);
  expect(h.records[0]).toMatchObject({ decision: 'allow', bytesIn: size, bytesOut: 1, port: 'api' });
  expect(await h.metric('portwarden_bytes_total', { port: 'api', direction: 'in' })).toBe(size);
});

it('forwards what a caller sends before the upstream is ready, after the PROXY header', async () => {
  const { promise: atUpstream, resolve } = Promise.withResolvers<Buffer>();
  const upstream = await startUpstream((socket) => void readAll(socket).then(({ data }) => resolve(data)));
  const h = await startSidecar(testConfig([{ name: 'api', upstream: upstream.address, upstream_proxy_protocol: 'v2' }]));
  const client = await connectTo(h.address('api'));
  client.end('sent at once');
  const data = await atUpstream;
  // the v2 signature, then the caller's bytes unchanged
  expect(data.subarray(0, 12).toString('hex')).toBe('0d0a0d0a000d0a515549540a');
  expect(data.subarray(data.length - 'sent at once'.length).toString()).toBe('sent at once');
});

it('forwards the end of a caller that closes before sending a byte, while the upstream still connects', async () => {
  // the end arrived before the connection listened for it and was lost: the connection hung
  const upstream = await startUpstream((socket) => {
    socket.on('end', () => socket.end('bye'));
    socket.resume();
  });
  const h = await startSidecar(testConfig([{ name: 'api', upstream: upstream.address }]));
  const results = await Promise.all(
    Array.from({ length: 20 }, async () => {
      const client = await connectTo(h.address('api'));
      client.end();
      return (await readAll(client)).data.toString();
    }),
  );
  expect(results).toEqual(Array.from({ length: 20 }, () => 'bye'));
});

it('closes and cuts buffer-reading callers without leaking a descriptor or a slot of max_connections: 200 connections', async () => {
  const upstream = await startUpstream((socket) => {
    socket.on('error', () => undefined);
    // a chunk ending in "reset" makes the upstream cut the connection; anything else is echoed, the end too
    socket.on('data', (chunk: Buffer) => (chunk.toString('latin1').endsWith('reset') ? socket.resetAndDestroy() : socket.write(chunk)));
    socket.on('end', () => socket.end());
  });
  const h = await startSidecar(testConfig([{ name: 'api', upstream: upstream.address, max_connections: 10 }]));
  const address = h.address('api');
  // every caller first sends bulk, so it reads into its connection's buffer before it ends
  const bulk = Buffer.alloc(256 * 1024, 0x61);
  const roundTrip = async (i: number): Promise<boolean> => {
    const client: Socket = await connectTo(address);
    client.on('error', () => undefined);
    const reply = readAll(client);
    client.write(bulk);
    await waitFor(() => client.bytesRead >= bulk.length || client.destroyed, { what: `bulk echoed to caller ${i}` });
    switch (i % 4) {
      case 0: // orderly close by the caller
        client.end(`hello ${i}`);
        return (await reply).data.subarray(bulk.length).toString() === `hello ${i}`;
      case 1: // the caller resets
        client.resetAndDestroy();
        await reply;
        return true;
      case 2: // the upstream resets: the sidecar cuts the caller
        client.write('reset');
        return (await reply).error?.code === 'ECONNRESET';
      default: // the caller closes after the bulk
        client.end();
        return (await reply).data.length === bulk.length;
    }
  };
  expect(await roundTrip(0)).toBe(true); // loads what stays loaded and opens what stays open
  await waitFor(async () => (await h.metric('portwarden_connections_active', { port: 'api' })) === 0);
  const baseline = await openFds();

  let ok = 0;
  for (let batch = 0; batch < 20; batch++) {
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => roundTrip(batch * 10 + i)));
    ok += results.filter(Boolean).length;
  }
  expect(ok).toBe(200);
  await waitFor(async () => (await h.metric('portwarden_connections_active', { port: 'api' })) === 0, { what: 'no open connections' });
  await waitFor(async () => (await openFds()) <= baseline, { what: `descriptors back to ${baseline}` });
  // every slot came back: ten at once are all admitted again, the eleventh is refused
  const held = await Promise.all(Array.from({ length: 10 }, () => connectTo(address)));
  for (const [i, socket] of held.entries()) {
    const reply = readAll(socket);
    socket.write(`again ${i}`);
    await waitFor(() => socket.bytesRead > 0, { what: `echo ${i}` });
    socket.end();
    void reply;
  }
  expect((await h.metric('portwarden_connections_total', { port: 'api', decision: 'deny', reason: 'max_connections' })) ?? 0).toBe(0);
  expect(h.records.filter((record) => record.decision === 'deny')).toEqual([]);
});

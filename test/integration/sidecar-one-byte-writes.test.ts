import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { expect, it } from 'vitest';
import { connectTo, readAll, startSidecar, startUpstream, testConfig } from '../helpers/sidecar-harness.ts';

const count = 3_000;

/** Writes `data` one byte per write, yielding between writes so each leaves as its own segment. */
async function trickle(socket: Socket, data: Buffer): Promise<void> {
  for (let i = 0; i < data.length; i++) {
    socket.write(data.subarray(i, i + 1));
    if (i % 16 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
}

it('carries 1-byte writes both ways without losing or reordering a byte', async () => {
  const outbound = Buffer.from(Array.from({ length: count }, (_, i) => i % 251));
  const inbound = Buffer.from(Array.from({ length: count }, (_, i) => (i * 7) % 253));
  const { promise: atUpstream, resolve } = Promise.withResolvers<Buffer>();
  const upstream = await startUpstream((socket) => {
    void readAll(socket).then(({ data }) => resolve(data));
    void trickle(socket, inbound).then(() => socket.end());
  });
  const h = await startSidecar(testConfig([{ name: 'api', upstream: upstream.address }]));
  const client = await connectTo(h.address('api'));
  const received = readAll(client);
  await trickle(client, outbound);
  client.end();

  const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');
  expect(sha(await atUpstream)).toBe(sha(outbound));
  expect(sha((await received).data)).toBe(sha(inbound));
});

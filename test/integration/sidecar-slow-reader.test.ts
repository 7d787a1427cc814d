import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { expect, it } from 'vitest';
import { connectTo, sendRandom, startSidecar, startUpstream, testConfig } from '../helpers/sidecar-harness.ts';

const size = 24 * 1024 * 1024;

/** Reads in bursts with pauses, so the proxy's writes to it keep hitting a full socket buffer. */
function hashSlowly(socket: Socket): Promise<{ hash: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let bytes = 0;
    let chunks = 0;
    socket.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
      if (++chunks % 8 === 0) {
        socket.pause();
        setTimeout(() => socket.resume(), 2);
      }
    });
    socket.once('end', () => resolve({ hash: hash.digest('hex'), bytes }));
    socket.once('error', reject);
  });
}

// the upstream's bytes are read into one reused buffer: a write the caller could not take at
// once must not see that buffer overwritten by the next read
it.each([
  ['large writes', 256 * 1024],
  ['small writes', 3_000],
])('forwards a fast upstream to a slow reader byte-exact (partial writes, backpressure): %s', async (_, chunkBytes) => {
  const { promise: sent, resolve } = Promise.withResolvers<string>();
  const upstream = await startUpstream((socket) => {
    resolve(
      sendRandom(socket, size, chunkBytes).then((hash) => {
        socket.end();
        return hash;
      }),
    );
  });
  const h = await startSidecar(testConfig([{ name: 'api', upstream: upstream.address }]));
  const client = await connectTo(h.address('api'));
  const received = await hashSlowly(client);
  expect(received).toEqual({ hash: await sent, bytes: size });
  client.end();
  await expect.poll(() => h.records.length).toBe(1);
  expect(h.records[0]).toMatchObject({ bytesOut: size });
});

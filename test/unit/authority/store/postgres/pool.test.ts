import { createServer, type Socket } from 'node:net';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { expect, it } from 'vitest';
import { openPool } from '../../../../../src/authority/store/postgres/pool.ts';

/** One backend message: a type byte, then its length (itself included) and body. */
function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

const authenticationOk = message('R', Buffer.from([0, 0, 0, 0]));
const readyForQuery = message('Z', Buffer.from('I'));
// what a server shutting down (pg_ctl stop -m fast) sends every session
const terminating = message('E', Buffer.from('SFATAL\0VFATAL\0C57P01\0Mterminating connection due to administrator command\0\0', 'latin1'));

it('a connection the server ends in the same packet that makes it ready fails its query, and the process goes on', async () => {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.once('data', () => socket.end(Buffer.concat([authenticationOk, readyForQuery, terminating])));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const pool = openPool({ connectionString: `postgres://portwarden@127.0.0.1:${port}/portwarden`, max: 1 }, undefined, 'the fake server');
  try {
    // without a listener of its own the FATAL would be an uncaught 'error' here, and the run would fail
    const client = await pool.connect();
    await expect(client.query('SELECT 1')).rejects.toThrow(/not queryable|terminat/);
    client.release(true);
  } finally {
    await pool.end();
    for (const socket of sockets) socket.destroy();
    server.close();
  }
});

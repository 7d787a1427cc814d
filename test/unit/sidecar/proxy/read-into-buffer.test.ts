import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { expect, it } from 'vitest';
import { readIntoBuffer } from '../../../../src/sidecar/proxy/read-into-buffer.ts';

// readIntoBuffer relies on where node:net keeps a socket's onread slots; if a Node upgrade
// moves them it quietly returns false and uploads go back to a new allocation per read. This
// test is what notices.
it('switches an accepted socket to read into the given buffer on this Node, so no data event is emitted after it', async () => {
  const buffer = Buffer.alloc(64 * 1024);
  const received: string[] = [];
  let dataEvents = 0;
  let switched = false;
  const accepted = new Promise<Socket>((resolve) => {
    const server = createServer((socket) => {
      socket.once('data', (first: Buffer) => {
        received.push(first.toString());
        switched = readIntoBuffer(socket, { buffer, callback: (bytes, into) => {
            received.push(Buffer.from(into.subarray(0, bytes)).toString());
            return true;
          },
        });
        socket.on('data', () => dataEvents++);
        socket.write('switched');
      });
      resolve(socket);
      server.close();
    });
    server.listen(0, '127.0.0.1', () => {
      const client = connect((server.address() as AddressInfo).port, '127.0.0.1', () => client.write('first'));
      client.once('data', () => client.end('second'));
    });
  });
  const socket = await accepted;
  await once(socket, 'end');
  expect(switched).toBe(true);
  expect(received).toEqual(['first', 'second']);
  expect(dataEvents).toBe(0);
  socket.destroy();
});

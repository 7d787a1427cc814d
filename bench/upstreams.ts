/**
 * The upstreams every front forwards to, run in their own process so the load generator
 * and the fronts do not share an event loop with them:
 *   http   keep-alive HTTP/1.1 with a small response
 *   echo   TCP echo (half-close aware), for idle connections and new-connection loads
 *   source TCP server that sends BULK_BYTES then ends, for download throughput
 *   sink   TCP server that reads BULK_BYTES, then answers one byte and ends, for upload throughput
 * Prints one JSON line with the ports, then runs until stdin closes.
 */
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';

const bulkBytes = Number(process.env.BULK_BYTES ?? 256 * 1024 * 1024);
const chunk = Buffer.alloc(64 * 1024, 0x61);

const http = createHttpServer({ keepAliveTimeout: 60_000 }, (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
  res.end('ok');
});

const echo = createServer({ allowHalfOpen: true }, (socket) => {
  socket.on('error', () => socket.destroy());
  socket.pipe(socket);
});

const source = createServer((socket) => {
  socket.on('error', () => socket.destroy());
  let left = bulkBytes;
  const write = () => {
    while (left > 0) {
      left -= chunk.length;
      if (!socket.write(chunk)) return void socket.once('drain', write);
    }
    socket.end();
  };
  write();
});

// the acknowledgement after the last byte, not a half-close: a bare pipe proxy does not forward one
const sink = createServer((socket) => {
  socket.on('error', () => socket.destroy());
  let left = bulkBytes;
  socket.on('data', (data: Buffer) => {
    left -= data.length;
    if (left <= 0) socket.end('k');
  });
});

function listen(server: Server | ReturnType<typeof createHttpServer>): Promise<number> {
  return new Promise((resolve) => server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => resolve((server.address() as { port: number }).port)));
}

const ports = { http: await listen(http), echo: await listen(echo), source: await listen(source), sink: await listen(sink) };
process.stdout.write(`${JSON.stringify(ports)}\n`);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));

/**
 * The bare Node.js limit: a `node:net` pipe proxy with no checks at all. Every portwarden
 * figure is read as a ratio to this. Usage: pipe-proxy.ts UPSTREAM_PORT...; prints
 * {"ports":[N...]} (one listener per upstream, in order).
 */
import { connect, createServer, type Server } from 'node:net';

function front(upstreamPort: number): Promise<number> {
  const server: Server = createServer({ noDelay: true }, (client) => {
    const upstream = connect({ host: '127.0.0.1', port: upstreamPort, noDelay: true });
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  return new Promise((resolve) => server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => resolve((server.address() as { port: number }).port)));
}

const ports = await Promise.all(process.argv.slice(2).map((port) => front(Number(port))));
process.stdout.write(`${JSON.stringify({ ports })}\n`);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));

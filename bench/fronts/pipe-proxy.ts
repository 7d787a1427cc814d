/**
 * The bare Node.js limit: a `node:net` pipe proxy with no checks at all. Every portwarden
 * figure is read as a ratio to this. Usage: pipe-proxy.ts UPSTREAM_PORT...; prints
 * {"ports":[N...]} (one listener per upstream, in order). With PIPE_TLS_UPSTREAM (and
 * PIPE_TLS_CA/CERT/KEY) it also terminates TLS, client certificate required, to that upstream
 * and prints its port as "tls": the bare `node:tls` limit for the mTLS load.
 */
import { readFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';

function pipe(client: Socket, upstreamPort: number): void {
  const upstream = connect({ host: '127.0.0.1', port: upstreamPort, noDelay: true });
  client.pipe(upstream).pipe(client);
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
  client.on('close', () => upstream.destroy());
  upstream.on('close', () => client.destroy());
}

// PIPE_REUSE_PORT=1: SO_REUSEPORT, so several pipe processes share one port (bench/tools/reuseport.ts)
const reusePort = process.env.PIPE_REUSE_PORT === '1';

function listen(server: Server, port = 0): Promise<number> {
  return new Promise((resolve) => server.listen({ host: '127.0.0.1', port, backlog: 4096, reusePort }, () => resolve((server.address() as { port: number }).port)));
}

// PIPE_PORT: where the first listener binds (the per-connection tool runs the pipe under valgrind and cannot read stdout)
const first = Number(process.env.PIPE_PORT ?? 0);
const ports = await Promise.all(
  process.argv.slice(2).map((port, i) => listen(createServer({ noDelay: true }, (client) => pipe(client, Number(port))), i === 0 ? first : 0)),
);
let tls: number | undefined;
if (process.env.PIPE_TLS_UPSTREAM) {
  const upstreamPort = Number(process.env.PIPE_TLS_UPSTREAM);
  const server = createTlsServer(
    {
      ca: readFileSync(process.env.PIPE_TLS_CA ?? ''),
      cert: readFileSync(process.env.PIPE_TLS_CERT ?? ''),
      key: readFileSync(process.env.PIPE_TLS_KEY ?? ''),
      requestCert: true,
      rejectUnauthorized: true,
      noDelay: true,
    },
    (client) => pipe(client, upstreamPort),
  );
  server.on('tlsClientError', () => undefined);
  tls = await listen(server);
}
process.stdout.write(`${JSON.stringify({ ports, tls })}\n`);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));

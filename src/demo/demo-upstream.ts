import { createServer, type Server } from 'node:http';

/** The tiny HTTP service `portwarden up` puts behind the sidecar; answers every request with one line. */
export class DemoUpstream {
  readonly #server: Server;
  #closing: Promise<void> | undefined;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(host = '127.0.0.1', port = 0): Promise<DemoUpstream> {
    const server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`hello from the demo upstream: ${req.method} ${req.url}\n`);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return new DemoUpstream(server);
  }

  get port(): number {
    return (this.#server.address() as { port: number }).port;
  }

  /** Stops accepting and cuts keep-alive connections. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
    return this.#closing;
  }
}

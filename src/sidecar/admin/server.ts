import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { answerClientError } from '../../shared/http-client-errors.ts';
import type { Registry } from 'prom-client';
import type { HostPort } from '../../shared/address.ts';
import { errorCodes, type ErrorCode } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';

/** What `/readyz` answers: ready only when every port holds a license that admits now. */
export interface Readiness {
  ready: boolean;
  /** Why not, when not: `shutting_down`, `starting`, or the ports whose license does not admit. */
  reason?: string;
  ports: { name: string; health: string }[];
}

/** What the admin endpoints read from the sidecar. */
export interface AdminSubject {
  readiness(): Readiness;
  /** True while every listener is accepting and the sidecar is not shutting down. */
  healthy(): boolean;
  /** The `/status` document. */
  status(): unknown;
  /** Runs before `/metrics` is rendered, to bring gauges up to date. */
  beforeScrape?(): void;
}

export interface AdminServerOptions {
  listen: HostPort;
  registry: Registry;
  subject: AdminSubject;
  logger: Logger;
  /** A request's headers must arrive within this (default 10s), else 408 `request_timeout`. */
  headersTimeoutMs?: number;
}

/** Admin connections open at once; probes and scrapers need a handful. */
const adminMaxConnections = 256;

/**
 * The sidecar's operations endpoint on `admin.listen`: `/metrics`, `/livez` (the process is
 * up), `/healthz` (listeners are accepting), `/readyz` (licenses admit) and `/status`.
 * Errors are `{ "error": { "code", "message" } }`, as the authority's API answers them.
 */
export class AdminServer {
  readonly #options: AdminServerOptions;
  readonly #server: Server;
  #address: HostPort | undefined;
  #closed: Promise<void> | undefined;

  constructor(options: AdminServerOptions) {
    this.#options = options;
    // a scraper or probe that sends slowly, or far too many of them, cannot hold the sidecar's
    // admin listener: the same timeouts and answers as the authority's defaults
    const headersTimeout = options.headersTimeoutMs ?? 10_000;
    const limits = { headersTimeout, requestTimeout: Math.max(headersTimeout, 30_000), connectionsCheckingInterval: 1_000 };
    this.#server = createServer(limits, (req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        options.logger.error({ err, path: req.url }, 'admin request failed');
        if (!res.headersSent) sendError(res, 'internal', 'the request failed; the log has the details');
        else res.destroy();
      });
    });
    // scrapers keep connections alive; do not let an idle one hold shutdown
    this.#server.keepAliveTimeout = 5_000;
    this.#server.maxConnections = adminMaxConnections;
    this.#server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      const reason = answerClientError(err, socket);
      options.logger.debug({ code: err.code, reason }, 'admin connection refused before routing');
    });
  }

  get address(): HostPort | undefined {
    return this.#address;
  }

  async listen(): Promise<HostPort> {
    const { host, port } = this.#options.listen;
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen({ host, port }, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const bound = this.#server.address();
    if (bound && typeof bound === 'object') this.#address = { host: bound.address, port: bound.port };
    return this.#address as HostPort;
  }

  /** Stops listening and closes every admin connection. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= new Promise<void>((resolve) => {
      if (!this.#server.listening) {
        resolve();
        return;
      }
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
    return this.#closed;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    const { subject, registry } = this.#options;
    const route = routes.has(path ?? '');
    if (!route) {
      sendError(res, 'not_found', `no route ${path}`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      sendError(res, 'method_not_allowed', `${req.method} is not allowed on ${path}`);
      return;
    }
    switch (path) {
      case '/metrics': {
        subject.beforeScrape?.();
        const body = await registry.metrics();
        res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' });
        res.end(body);
        return;
      }
      case '/livez':
        sendJson(res, 200, { status: 'ok' });
        return;
      case '/healthz': {
        const healthy = subject.healthy();
        sendJson(res, healthy ? 200 : 503, { status: healthy ? 'ok' : 'unhealthy' });
        return;
      }
      case '/readyz': {
        const readiness = subject.readiness();
        sendJson(res, readiness.ready ? 200 : 503, readiness);
        return;
      }
      case '/status':
        sendJson(res, 200, subject.status());
        return;
    }
  }
}

const routes = new Set(['/metrics', '/livez', '/healthz', '/readyz', '/status']);

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

function sendError(res: ServerResponse, code: ErrorCode, message: string): void {
  sendJson(res, errorCodes[code].status, { error: { code, message } });
}
